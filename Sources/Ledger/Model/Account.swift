import Foundation

/// An account: a balance in one asset, with an optional limit.
public struct Account: Sendable, Hashable, Codable {
    /// Which side of the balance grows in normal use: debit for assets and expenses (a clearing
    /// account, `@world`), credit for liabilities and income (an agent's wallet, a merchant).
    public enum Side: String, Sendable, Hashable, Codable {
        case debit
        case credit
    }

    /// A balance limit, checked by the database on every transfer, counting pending amounts.
    public enum Limit: String, Sendable, Hashable, Codable {
        case none
        /// Posted plus pending debits never exceed posted credits (a wallet that can't overdraw).
        case debitsMustNotExceedCredits = "debits_must_not_exceed_credits"
        /// Posted plus pending credits never exceed posted debits.
        case creditsMustNotExceedDebits = "credits_must_not_exceed_debits"

        var flags: Int16 {
            switch self {
            case .none: 0
            case .debitsMustNotExceedCredits: 1
            case .creditsMustNotExceedDebits: 2
            }
        }

        init(flags: Int16) {
            switch flags {
            case 1: self = .debitsMustNotExceedCredits
            case 2: self = .creditsMustNotExceedDebits
            default: self = .none
            }
        }
    }

    public var id: AccountID
    public var asset: AssetID
    /// The account's type in the chart of accounts, e.g. `wallet`, `clearing`, `revenue`.
    public var code: String
    public var normalSide: Side
    public var limit: Limit
    /// An id in the client's own system; unique when present.
    public var externalID: String?
    public var metadata: Metadata
    public var closed: Bool
    /// When the account was created; set by the ledger.
    public var createdAt: Date?

    public init(
        id: AccountID, asset: AssetID, code: String = "", normalSide: Side, limit: Limit = .none,
        externalID: String? = nil, metadata: Metadata = [:], closed: Bool = false, createdAt: Date? = nil
    ) {
        self.id = id
        self.asset = asset
        self.code = code
        self.normalSide = normalSide
        self.limit = limit
        self.externalID = externalID
        self.metadata = metadata
        self.closed = closed
        self.createdAt = createdAt
    }

    func validate() throws(LedgerError) {
        // Characters (Unicode scalars), as the table's length() checks and the OpenAPI document's maxLength count them.
        guard code.unicodeScalars.count <= 64 else {
            throw LedgerError(.invalidAccount, "account \(id): code is longer than 64 characters")
        }
        if let externalID, !(1...256).contains(externalID.unicodeScalars.count) {
            throw LedgerError(.invalidAccount, "account \(id): external id must be 1-256 characters")
        }
        guard StoredText.isStorable(code), externalID.map(StoredText.isStorable) ?? true else {
            throw LedgerError(.invalidAccount, "account \(id): code and external id must not contain NUL characters")
        }
        guard StoredText.isStorable(metadata) else {
            throw LedgerError(.invalidMetadata, "account \(id): metadata must not contain NUL characters")
        }
    }
}
