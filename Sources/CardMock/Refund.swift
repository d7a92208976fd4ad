/// A Refund (`re_…`) of a captured charge; cards refund at once (`succeeded`).
struct Refund: Sendable, Codable, Hashable {
    var id: String
    var created: Int64
    var amount: Int64
    var currency: String
    var charge: String
    var paymentIntent: String
    var status: String
    var reason: String?
    var balanceTransaction: String?
    var metadata: [String: String]

    var json: JSON {
        [
            "id": .string(id), "object": "refund", "created": .int(created), "amount": .int(amount), "currency": .string(currency),
            "charge": .string(charge), "payment_intent": .string(paymentIntent), "status": .string(status), "reason": .from(reason),
            "balance_transaction": .from(balanceTransaction), "metadata": .from(metadata), "failure_balance_transaction": nil,
            "failure_reason": nil, "receipt_number": nil, "destination_details": ["type": "card", "card": ["type": "refund"]],
        ]
    }
}
