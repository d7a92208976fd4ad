import Crypto
import Hummingbird
import Ledger

/// Who may call the facilitator routes.
///
/// `/settle` spends the facilitator's gas and books revenue in the ledger, so a facilitator that is
/// reachable from anywhere but the machine it runs on takes bearer tokens: the resource servers it
/// settles for send `Authorization: Bearer <token>`. ``open`` is for `settle sandbox` on loopback.
public struct X402FacilitatorAccess: Sendable {
    /// SHA-256 of each accepted token; nil: no authentication.
    private let tokenHashes: [[UInt8]]?

    private init(tokenHashes: [[UInt8]]?) {
        self.tokenHashes = tokenHashes
    }

    /// Anyone may call: only for a sandbox on loopback.
    public static let open = X402FacilitatorAccess(tokenHashes: nil)

    /// Callers must send `Authorization: Bearer <token>` with one of `tokens`. Only their SHA-256
    /// hashes are kept, compared in constant time; with no tokens, every call is refused.
    public static func bearer(tokens: [String]) -> X402FacilitatorAccess {
        X402FacilitatorAccess(tokenHashes: tokens.map { Array(SHA256.hash(data: Array($0.utf8))) })
    }

    /// Whether the facilitator is open to anyone.
    public var isOpen: Bool { tokenHashes == nil }

    func allows(_ request: Request) -> Bool {
        guard let tokenHashes else { return true }
        guard let header = request.headers[.authorization] else { return false }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        let presented = Array(SHA256.hash(data: Array(parts[1].utf8)))
        // Every hash is compared, so the time taken does not tell which token came close.
        var matched = false
        for hash in tokenHashes where constantTimeEqual(hash, presented) { matched = true }
        return matched
    }
}
