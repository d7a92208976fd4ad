import Foundation
import MPP

extension Stack {
    public static let joke = "A ledger walks into a bar. The bartender says: that'll be two entries."
    /// The card mock's key the card rail uses (the mock takes any `sk_test_…` key).
    public static let cardmockAPIKey = "sk_test_settle_sandbox"
    /// The seller profile shared payment tokens must be granted to.
    public static let cardNetworkID = "profile_settle_sandbox"
    /// Cards cost 50¢ (shared payment tokens' minimum), in cents.
    public static let cardPrice: Int64 = 50

    /// The MPP challenge secrets: `SETTLE_MPP_SECRETS` (comma-separated, the first signs, the
    /// others still verify), else a random one for this run.
    static func mppSecrets() throws -> ChallengeSecrets {
        if let configured = ProcessInfo.processInfo.environment["SETTLE_MPP_SECRETS"], !configured.isEmpty {
            return try ChallengeSecrets(configured.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        let random = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        return try ChallengeSecrets([random])
    }
}
