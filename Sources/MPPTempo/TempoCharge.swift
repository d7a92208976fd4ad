import EVM
import MPP

/// A route's price as a `tempo/charge` offer: one TIP-20 transfer of `amount` base units to
/// `recipient`, optionally split with other recipients and optionally with the fee sponsored by
/// the server.
public struct TempoCharge: Sendable, Hashable {
    /// One extra recipient of a split payment.
    public struct Split: Sendable, Hashable {
        public var amount: UInt256
        public var recipient: Address
        public var memo: Hash32?

        public init(amount: UInt256, recipient: Address, memo: Hash32? = nil) {
            self.amount = amount
            self.recipient = recipient
            self.memo = memo
        }
    }

    /// The total price in base units (TIP-20: 6 decimals), splits included.
    public var amount: UInt256
    public var currency: Address
    public var recipient: Address
    /// The server pays the transaction fee (the client sends a `0x78` envelope).
    public var feePayer: Bool
    /// At most ten, summing to less than `amount`; the recipient gets the rest.
    public var splits: [Split]
    public var externalId: String?

    public init(
        amount: UInt256, currency: Address, recipient: Address, feePayer: Bool = false, splits: [Split] = [], externalId: String? = nil
    ) {
        self.amount = amount
        self.currency = currency
        self.recipient = recipient
        self.feePayer = feePayer
        self.splits = splits
        self.externalId = externalId
    }

    /// The charge request object (pympp's `ChargeRequest` on the wire), with `chainId` always explicit.
    /// - Throws: ``TempoChargeError/Code/invalidTerms`` for more than ten splits, a zero split,
    ///   splits that leave the recipient nothing, splits with a sponsored fee, or an attribution memo
    ///   on a split (it could pay the challenge it names).
    public func request(chainID: UInt64) throws(TempoChargeError) -> [String: JSONValue] {
        guard splits.count <= 10 else { throw TempoChargeError(.invalidTerms, "at most 10 splits") }
        guard splits.isEmpty || !feePayer else { throw TempoChargeError(.invalidTerms, "splits and a sponsored fee cannot be combined") }
        var total = UInt256.zero
        for split in splits {
            guard !split.amount.isZero else { throw TempoChargeError(.invalidTerms, "a split amount must be greater than zero") }
            if let memo = split.memo, AttributionMemo.isAttribution(memo) {
                throw TempoChargeError(.invalidTerms, "a split memo must not be an MPP attribution memo")
            }
            let (sum, overflow) = total.addingReportingOverflow(split.amount)
            guard !overflow else { throw TempoChargeError(.invalidTerms, "the splits exceed 2^256-1") }
            total = sum
        }
        guard primaryAmount > .zero, total < amount else {
            throw TempoChargeError(.invalidTerms, "the splits must leave the recipient a positive amount")
        }
        var details: [String: JSONValue] = ["chainId": .integer(Int64(chainID))]
        if feePayer { details["feePayer"] = .bool(true) }
        if !splits.isEmpty {
            details["splits"] = .array(
                splits.map { split in
                    var members: [String: JSONValue] = [
                        "amount": .string(split.amount.description), "recipient": .string(split.recipient.checksummed),
                    ]
                    if let memo = split.memo { members["memo"] = .string(memo.hex) }
                    return .object(members)
                })
        }
        var request: [String: JSONValue] = [
            "amount": .string(amount.description), "currency": .string(currency.checksummed),
            "recipient": .string(recipient.checksummed), "methodDetails": .object(details),
        ]
        if let externalId { request["externalId"] = .string(externalId) }
        return request
    }

    /// What the recipient itself receives: the amount less the splits.
    public var primaryAmount: UInt256 {
        splits.reduce(amount) { rest, split in split.amount < rest ? rest - split.amount : .zero }
    }
}
