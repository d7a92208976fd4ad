import Foundation

/// An account's balance: the four counters and what follows from them.
public struct Balance: Sendable, Hashable, Codable {
    public var account: AccountID
    public var debitsPosted: UInt256
    public var creditsPosted: UInt256
    public var debitsPending: UInt256
    public var creditsPending: UInt256
    /// How many entries the account has; the `account_version` of its last entry.
    public var version: Int64
    public var normalSide: Account.Side
    /// The effective time the balance is as of; nil for the current balance.
    public var asOf: Date?

    public init(
        account: AccountID, debitsPosted: UInt256, creditsPosted: UInt256, debitsPending: UInt256, creditsPending: UInt256,
        version: Int64, normalSide: Account.Side, asOf: Date?
    ) {
        self.account = account
        self.debitsPosted = debitsPosted
        self.creditsPosted = creditsPosted
        self.debitsPending = debitsPending
        self.creditsPending = creditsPending
        self.version = version
        self.normalSide = normalSide
        self.asOf = asOf
    }

    /// Posted balance on the account's normal side (credits - debits for a credit-normal account).
    public var posted: SignedAmount {
        normalSide == .credit ? SignedAmount(creditsPosted, minus: debitsPosted) : SignedAmount(debitsPosted, minus: creditsPosted)
    }

    /// What can still be spent: the posted balance less pending outflows.
    public var available: SignedAmount {
        switch normalSide {
        case .credit:
            let out = debitsPosted.adding(debitsPending) ?? .max
            return SignedAmount(creditsPosted, minus: out)
        case .debit:
            let out = creditsPosted.adding(creditsPending) ?? .max
            return SignedAmount(debitsPosted, minus: out)
        }
    }
}

/// One line of an account's history, with the account's balance after it.
public struct Entry: Sendable, Hashable, Codable {
    public var account: AccountID
    /// Position in the account's history (1, 2, ...), in recording order.
    public var version: Int64
    public var transfer: TransferID
    public var transferKind: Transfer.Kind
    public var effectiveAt: Date
    public var recordedAt: Date
    public var direction: Posting.Direction
    public var pending: Bool
    public var amount: SignedAmount
    public var debitsPosted: UInt256
    public var creditsPosted: UInt256
    public var debitsPending: UInt256
    public var creditsPending: UInt256
}

/// A page of results with an opaque cursor for the next page (keyset pagination).
public struct Page<Item: Sendable & Hashable>: Sendable, Hashable {
    public var items: [Item]
    /// Pass to the next call to continue; nil when there is nothing more.
    public var nextCursor: String?
}
