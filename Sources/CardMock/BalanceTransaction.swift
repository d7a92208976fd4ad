/// A balance transaction (`txn_…`): one per money movement, the reconciliation atom (card.md §1.6).
struct BalanceTransaction: Sendable, Codable, Hashable {
    var id: String
    var created: Int64
    /// Signed gross amount.
    var amount: Int64
    var fee: Int64
    var feeDescription: String?
    var currency: String
    var availableOn: Int64
    var status: String
    var type: String
    var reportingCategory: String
    var source: String
    var description: String?
    /// The automatic payout that swept it; nil until swept (never set for a payout's own transaction).
    var payout: String?

    var net: Int64 { amount - fee }

    var json: JSON {
        let details: [JSON] =
            fee == 0
            ? []
            : [
                [
                    "amount": .int(fee), "application": nil, "currency": .string(currency),
                    "description": .string(feeDescription ?? "Stripe processing fees"),
                    "type": "stripe_fee",
                ]
            ]
        return [
            "id": .string(id), "object": "balance_transaction", "created": .int(created), "amount": .int(amount), "fee": .int(fee),
            "fee_details": .array(details), "net": .int(net), "currency": .string(currency), "available_on": .int(availableOn),
            "status": .string(status), "type": .string(type), "reporting_category": .string(reportingCategory),
            "source": .string(source), "description": .from(description), "exchange_rate": nil, "balance_type": "payments",
        ]
    }
}
