/// One leg of a transfer: an amount debited from or credited to one account.
public struct Posting: Sendable, Hashable, Codable {
    public enum Direction: String, Sendable, Hashable, Codable {
        case debit
        case credit
    }

    public var account: AccountID
    public var direction: Direction
    /// Base units; must be greater than zero.
    public var amount: UInt256

    public init(_ direction: Direction, _ account: AccountID, _ amount: UInt256) {
        self.account = account
        self.direction = direction
        self.amount = amount
    }

    public static func debit(_ account: AccountID, _ amount: UInt256) -> Posting { Posting(.debit, account, amount) }
    public static func credit(_ account: AccountID, _ amount: UInt256) -> Posting { Posting(.credit, account, amount) }
}
