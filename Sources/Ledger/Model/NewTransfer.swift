import Crypto
import Foundation

/// A transfer to record: the request side of ``Ledger/post(_:atomic:)``.
///
/// Its ``id`` is the idempotency key. Posting the same id again with the same content returns the
/// original result and writes nothing; the same id with other content is rejected with
/// ``LedgerError/Code/existsWithDifferentFields``.
public struct NewTransfer: Sendable, Hashable {
    /// What the transfer does.
    public enum Action: Sendable, Hashable {
        /// Moves money now.
        case post([Posting])
        /// Holds money: the amounts count against limits but are not posted. `timeout` in seconds
        /// (nil: no expiry); after it, the hold can no longer be posted and `settle holds expire`
        /// voids it.
        case hold([Posting], timeout: Int64?)
        /// Posts a hold, fully or partially (`amount`, for holds of exactly two postings); the
        /// rest of the hold is released.
        case postHold(TransferID, amount: UInt256?)
        /// Releases a hold entirely.
        case voidHold(TransferID)
        /// Posts the mirror image of a posted transfer.
        case reverse(TransferID)
        /// Moves as much as `from` has available, at most `upTo` (nil: everything available), to
        /// `to`: a balancing transfer, as TigerBeetle's. The amount is decided in the write path
        /// under the account's lock and returned in the result (``TransferResult/Receipt/amount``).
        /// `from` gives up its normal side (a credit-normal account is debited, a debit-normal one
        /// credited) and `to` takes the other; available is ``Balance/available``. Clamped on both
        /// sides (decision 0043): when `to` has a limit on the side it takes, at most the room it
        /// leaves. With nothing available the transfer is rejected with
        /// ``LedgerError/Code/nothingAvailable``, with no room at `to` with
        /// ``LedgerError/Code/destinationFull``.
        case balancing(from: AccountID, to: AccountID, upTo: UInt256?)
        /// A balancing hold: holds what ``balancing(from:to:upTo:)`` would move, decided the same
        /// way, as a hold of two postings (`timeout` as for ``hold(_:timeout:)``), later posted
        /// (fully or partially) or voided with ``postHold(_:amount:)`` and ``voidHold(_:)``. The
        /// amount held is returned in the result, also on `exists`.
        case balancingHold(from: AccountID, to: AccountID, upTo: UInt256?, timeout: Int64?)
    }

    /// A pointer from a transfer to the record of the same money movement on its rail.
    public struct RailReference: Sendable, Hashable, Codable {
        /// Rail id, e.g. `erc20`, `card`.
        public var rail: String
        /// The rail's natural key, e.g. `eip155:8453/0xabc…/3` or a processor's object id.
        public var reference: String

        public init(rail: String, reference: String) {
            self.rail = rail
            self.reference = reference
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case rail, reference
        }

        /// Strict like ``NewTransfer``: an unknown field is an error (the synthesized decoder
        /// dropped it, so a misspelt field inside a rail reference went unnoticed).
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let k = try decoder.container(keyedBy: CodingKeys.self)
            self.init(rail: try k.decode(String.self, forKey: .rail), reference: try k.decode(String.self, forKey: .reference))
        }
    }

    public var id: TransferID
    public var action: Action
    /// A related transfer that this one does not resolve (a refund points at its payment).
    public var parent: TransferID?
    /// When the money moved in the world; nil means when it is recorded. May be in the past.
    public var effectiveAt: Date?
    public var metadata: Metadata
    public var railReference: RailReference?
    /// What the accounts must be like just before the transfer applies, or it is rejected and
    /// nothing is written (optimistic locking). Only for transfers with their own postings (post,
    /// hold, balancing), on accounts they post to. Not part of the request's identity: a retry of
    /// a recorded transfer is answered `exists` whatever its conditions say now.
    public var conditions: [Condition]

    public init(
        id: TransferID, _ action: Action, parent: TransferID? = nil, effectiveAt: Date? = nil,
        metadata: Metadata = [:], railReference: RailReference? = nil, conditions: [Condition] = []
    ) {
        self.id = id
        self.action = action
        self.parent = parent
        self.effectiveAt = effectiveAt
        self.metadata = metadata
        self.railReference = railReference
        self.conditions = conditions
    }

    /// Whether the batch must go through the conditional posting call.
    var isConditional: Bool {
        if balancingAccounts != nil { return true }
        return !conditions.isEmpty
    }

    var kind: Transfer.Kind {
        switch action {
        case .post, .balancing: .posted
        case .hold, .balancingHold: .pending
        case .postHold: .postPending
        case .voidHold: .voidPending
        case .reverse: .reversal
        }
    }

    var postings: [Posting] {
        switch action {
        case .post(let p), .hold(let p, _): p
        case .postHold, .voidHold, .reverse, .balancing, .balancingHold: []
        }
    }

    /// The parent the database resolves: the hold, the reversed transfer, or the plain link.
    var parentID: TransferID? {
        switch action {
        case .post, .hold, .balancing, .balancingHold: parent
        case .postHold(let p, _), .voidHold(let p), .reverse(let p): p
        }
    }

    /// Checks what can be checked without the database, so that bad input gets a precise error.
    public func validate() throws(LedgerError) {
        for posting in postings where posting.amount.isZero {
            throw LedgerError(.amountMustBePositive, "transfer \(id): posting to \(posting.account) has amount 0")
        }
        switch action {
        case .hold(_, let timeout?) where timeout <= 0, .balancingHold(_, _, _, let timeout?) where timeout <= 0:
            throw LedgerError(.invalidTimeout, "transfer \(id): timeout must be a positive number of seconds")
        case .postHold(_, let amount?) where amount.isZero:
            throw LedgerError(.amountMustBePositive, "transfer \(id): posted amount must be greater than zero")
        case .balancing(_, _, let upTo?) where upTo.isZero, .balancingHold(_, _, let upTo?, _) where upTo.isZero:
            throw LedgerError(.amountMustBePositive, "transfer \(id): up_to must be greater than zero")
        case .post(let p) where p.count < 2, .hold(let p, _) where p.count < 2:
            throw LedgerError(.tooFewPostings, "transfer \(id): a transfer takes at least two postings")
        case .post, .hold, .postHold, .voidHold, .reverse, .balancing, .balancingHold:
            break
        }
        if case .postHold = action, parent != nil { throw linkError }
        if case .voidHold = action, parent != nil { throw linkError }
        if case .reverse = action, parent != nil { throw linkError }
        if let ref = railReference {
            // Characters (Unicode scalars), as JSON Schema's maxLength in the OpenAPI document counts them.
            guard (1...32).contains(ref.rail.unicodeScalars.count), (1...256).contains(ref.reference.unicodeScalars.count) else {
                throw LedgerError(.invalidRailReference, "transfer \(id): rail must be 1-32 characters and reference 1-256 characters")
            }
            guard StoredText.isStorable(ref.rail), StoredText.isStorable(ref.reference) else {
                throw LedgerError(.invalidRailReference, "transfer \(id): rail and reference must not contain NUL characters")
            }
        }
        guard StoredText.isStorable(metadata) else {
            throw LedgerError(.invalidMetadata, "transfer \(id): metadata must not contain NUL characters")
        }
        // Rules across fields last: a transfer breaking a constraint of the document (400) is named
        // for that, whatever else is wrong, so that a batch refuses it as a whole (LedgerRoutes).
        if case let (from, to, _)? = balancingAccounts, from == to {
            throw LedgerError(.duplicateAccount, "transfer \(id): a balancing transfer moves between two accounts")
        }
        try validateConditions()
    }

    /// A balancing transfer's or balancing hold's source, destination and bound.
    var balancingAccounts: (from: AccountID, to: AccountID, upTo: UInt256?)? {
        switch action {
        case .balancing(let from, let to, let upTo), .balancingHold(let from, let to, let upTo, _): (from, to, upTo)
        case .post, .hold, .postHold, .voidHold, .reverse: nil
        }
    }

    /// A hold's timeout, of a hold with postings or a balancing hold.
    var holdTimeout: Int64? {
        switch action {
        case .hold(_, let timeout), .balancingHold(_, _, _, let timeout): timeout
        case .post, .postHold, .voidHold, .reverse, .balancing: nil
        }
    }

    private var linkError: LedgerError {
        LedgerError(.parentNotAllowed, "transfer \(id): posting, voiding or reversing names its parent in the action, not in `parent`")
    }

    /// SHA-256 of the canonical request; equal content gives an equal hash.
    var requestHash: String {
        var fields: [String: JSONValue] = ["kind": .number(String(kind.rawValue))]
        fields["postings"] = .array(
            postings.map {
                .array([.string($0.direction.rawValue), .string($0.account.rawValue), .string($0.amount.decimalString)])
            })
        if let parentID { fields["parent"] = .string(parentID.rawValue) }
        if case .postHold(_, let amount?) = action { fields["amount"] = .string(amount.decimalString) }
        if let timeout = holdTimeout { fields["timeout"] = .number(String(timeout)) }
        if let effectiveAt {
            fields["effective_at"] = .number(String(Int64((effectiveAt.timeIntervalSince1970 * 1_000_000).rounded())))
        }
        if !metadata.isEmpty { fields["metadata"] = .object(metadata) }
        if let ref = railReference { fields["rail"] = .array([.string(ref.rail), .string(ref.reference)]) }
        if case let (from, to, upTo)? = balancingAccounts {
            fields["balancing"] = .array([.string(from.rawValue), .string(to.rawValue), upTo.map { .string($0.decimalString) } ?? .null])
        }
        return SHA256.hash(data: Array(fields.canonicalJSON.utf8)).lowercaseHex
    }
}
