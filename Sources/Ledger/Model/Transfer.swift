import Foundation

/// A recorded transfer, as read back from the ledger.
public struct Transfer: Sendable, Hashable, Codable {
    /// What a transfer did. The raw values are stored in the database.
    public enum Kind: Int16, Sendable, Hashable, Codable {
        case posted = 0
        case pending = 1
        case postPending = 2
        case voidPending = 3
        case reversal = 4
        /// A hold voided by `settle holds expire` after its timeout.
        case expiry = 5

        public var name: String {
            switch self {
            case .posted: "posted"
            case .pending: "pending"
            case .postPending: "post_pending"
            case .voidPending: "void_pending"
            case .reversal: "reversal"
            case .expiry: "expiry"
            }
        }
    }

    /// The state of a pending transfer (hold).
    public enum HoldState: String, Sendable, Hashable, Codable {
        case pending, posted, voided, expired
    }

    /// One line of a recorded transfer. `pending` lines are holds; a negative amount releases one.
    public struct Line: Sendable, Hashable, Codable {
        public var account: AccountID
        public var direction: Posting.Direction
        public var pending: Bool
        public var amount: SignedAmount
    }

    public var id: TransferID
    /// The ledger's internal sequence number.
    public var sequence: Int64
    public var kind: Kind
    public var parent: TransferID?
    public var lines: [Line]
    public var effectiveAt: Date
    public var recordedAt: Date
    public var expiresAt: Date?
    public var metadata: Metadata
    public var railReference: NewTransfer.RailReference?
    /// For a pending transfer: whether it is still held, posted, voided or expired.
    public var holdState: HoldState?
}

/// The outcome of one transfer of a batch.
public enum TransferResult: Sendable, Hashable {
    /// Written by this call.
    case created(Receipt)
    /// Written before, by an earlier call with the same id and content; nothing was written now.
    case exists(Receipt)
    /// Refused; nothing was written for it.
    case rejected(LedgerError)

    /// Where a transfer was recorded.
    public struct Receipt: Sendable, Hashable {
        public var sequence: Int64
        public var recordedAt: Date
        /// The amount a balancing transfer moved (``NewTransfer/Action/balancing(from:to:upTo:)``),
        /// as decided when it was recorded; nil for any other transfer.
        public var amount: UInt256?

        public init(sequence: Int64, recordedAt: Date, amount: UInt256? = nil) {
            self.sequence = sequence
            self.recordedAt = recordedAt
            self.amount = amount
        }
    }

    /// The stable status word: `created`, `exists` or `rejected`.
    public var status: String {
        switch self {
        case .created: "created"
        case .exists: "exists"
        case .rejected: "rejected"
        }
    }

    public var error: LedgerError? {
        if case .rejected(let e) = self { e } else { nil }
    }
}
