/// A client-chosen identifier of an asset, account or transfer.
///
/// 1 to 128 characters: an ASCII letter or digit first, then letters, digits and `. _ : / @ + -`.
/// Colon-separated paths (`merchant:acme:usdc`) let API keys be scoped to a prefix.
/// A transfer id is its idempotency key.
public struct LedgerID<Kind: LedgerIDKind>: Sendable, Hashable, Comparable, Codable,
    CustomStringConvertible, ExpressibleByStringLiteral
{
    /// The identifier as the client wrote it.
    public let rawValue: String

    /// Validates `rawValue`.
    /// - Throws: ``LedgerError`` with code ``LedgerError/Code/malformedID``.
    public init(_ rawValue: String) throws(LedgerError) {
        guard Self.isValid(rawValue) else {
            throw LedgerError(
                .malformedID,
                "\(Kind.name) id must be 1-128 characters of [A-Za-z0-9._:/@+-] starting with a letter or digit, got \(rawValue.debugDescription.prefix(140))"
            )
        }
        self.rawValue = rawValue
    }

    /// For literals in code and tests; traps on an invalid literal.
    public init(stringLiteral value: String) {
        do { try self.init(value) } catch { preconditionFailure("\(error)") }
    }

    /// Identifiers the ledger makes itself (hold expiries); they never pass ``init(_:)``.
    init(internal rawValue: String) { self.rawValue = rawValue }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(raw) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    static func isValid(_ s: String) -> Bool {
        let utf8 = s.utf8
        guard (1...128).contains(utf8.count), let first = utf8.first, first.isASCIIAlphanumeric else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "/"), UInt8(ascii: "@"), UInt8(ascii: "+"),
                UInt8(ascii: "-"):
                true
            default: byte.isASCIIAlphanumeric
            }
        }
    }
}

/// What a ``LedgerID`` identifies; only used as a type tag.
public protocol LedgerIDKind: Sendable {
    static var name: String { get }
}

public enum AccountIDKind: LedgerIDKind { public static let name = "account" }
public enum TransferIDKind: LedgerIDKind { public static let name = "transfer" }
public enum AssetIDKind: LedgerIDKind { public static let name = "asset" }

public typealias AccountID = LedgerID<AccountIDKind>
public typealias TransferID = LedgerID<TransferIDKind>
public typealias AssetID = LedgerID<AssetIDKind>

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
    }
}
