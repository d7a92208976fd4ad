/// A dispute (`dp_…`) on a charge, opened by a mock helper or by card 4000000000000259.
struct Dispute: Sendable, Codable, Hashable {
    var id: String
    var created: Int64
    var amount: Int64
    var currency: String
    var charge: String
    var paymentIntent: String
    var status: String
    var reason: String
    var balanceTransactions: [String]
    var evidence: [String: String]
    var metadata: [String: String]

    var json: JSON {
        [
            "id": .string(id), "object": "dispute", "created": .int(created), "amount": .int(amount), "currency": .string(currency),
            "charge": .string(charge), "payment_intent": .string(paymentIntent), "status": .string(status), "reason": .string(reason),
            "balance_transactions": .array(balanceTransactions.map(JSON.string)), "evidence": .from(evidence),
            "metadata": .from(metadata), "is_charge_refundable": false, "livemode": false,
        ]
    }
}
