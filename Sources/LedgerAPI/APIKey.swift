import Crypto
import Foundation
import Ledger

/// An API key's identity and rights; the secret is never kept.
public struct APIKey: Sendable, Hashable, Codable {
    /// What a key may do. Each scope includes the ones before it.
    public enum Scope: String, Sendable, Hashable, Codable, Comparable, CaseIterable {
        /// Read accounts, balances, entries and transfers.
        case read
        /// Also create accounts and post transfers.
        case write
        /// Also create assets.
        case admin

        public static func < (a: Scope, b: Scope) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    /// The public part of the key: 16 hex digits, shown in listings and logs.
    public var id: String
    public var scope: Scope
    /// When set, the key sees and moves only accounts whose id starts with this prefix, which ends
    /// with `:` (so `agent:` never covers `agent2:`).
    public var accountPrefix: String?
    public var label: String
    public var createdAt: Date
    public var revokedAt: Date?

    /// Whether the key may touch this account.
    public func covers(_ account: String) -> Bool {
        accountPrefix.map { account.hasPrefix($0) } ?? true
    }
}

/// A key as a client presents it: `settle_<id>_<secret>`, where the secret is 64 hex digits.
struct APIKeyToken: Sendable, Hashable {
    var id: String
    var secret: String

    init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// Parses a bearer token; nil when it cannot be a Settle key.
    init?(_ text: Substring) {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "settle", parts[1].utf8.count == 16, parts[2].utf8.count == 64,
            parts[1].utf8.allSatisfy(\.isLowercaseHex), parts[2].utf8.allSatisfy(\.isLowercaseHex)
        else { return nil }
        self.id = String(parts[1])
        self.secret = String(parts[2])
    }

    /// A new key: an 8-byte id and a 32-byte secret from the system's generator.
    static func generate() -> APIKeyToken {
        var generator = SystemRandomNumberGenerator()
        func hex(_ count: Int) -> String { (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }.lowercaseHex }
        return APIKeyToken(id: hex(8), secret: hex(32))
    }

    var text: String { "settle_\(id)_\(secret)" }

    var secretHash: [UInt8] { Array(SHA256.hash(data: Array(secret.utf8))) }
}

extension UInt8 {
    var isLowercaseHex: Bool { (0x30...0x39).contains(self) || (0x61...0x66).contains(self) }
}
