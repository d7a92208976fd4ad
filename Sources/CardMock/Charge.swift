/// A Charge (`ch_…`): one per confirmation attempt of a PaymentIntent (card.md §1.5).
struct Charge: Sendable, Codable, Hashable {
    var id: String
    var created: Int64
    var amount: Int64
    var currency: String
    var amountCaptured: Int64 = 0
    /// Refunds plus, after a partial capture or a cancellation, the released uncaptured remainder.
    var amountRefunded: Int64 = 0
    var captured: Bool = false
    var status: String
    var failureCode: String?
    var failureMessage: String?
    var outcome: JSON
    var balanceTransaction: String?
    var paymentIntent: String
    var paymentMethod: String
    var paymentMethodDetails: JSON
    var disputed: Bool = false
    var customer: String?
    var description: String?
    var metadata: [String: String]

    var paid: Bool { status == "succeeded" }
    var refunded: Bool { amountRefunded >= amount && amount > 0 && status == "succeeded" }
    /// What refunds may still take back.
    var refundable: Int64 { captured ? amount - amountRefunded : 0 }

    var json: JSON {
        [
            "id": .string(id), "object": "charge", "created": .int(created), "livemode": false,
            "amount": .int(amount), "currency": .string(currency), "amount_captured": .int(amountCaptured),
            "amount_refunded": .int(amountRefunded), "captured": .bool(captured), "paid": .bool(paid), "refunded": .bool(refunded),
            "status": .string(status), "failure_code": .from(failureCode), "failure_message": .from(failureMessage),
            "outcome": outcome, "balance_transaction": .from(balanceTransaction), "payment_intent": .string(paymentIntent),
            "payment_method": .string(paymentMethod), "payment_method_details": paymentMethodDetails, "disputed": .bool(disputed),
            "customer": .from(customer), "description": .from(description), "metadata": .from(metadata),
            "billing_details": ["address": nil, "email": nil, "name": nil, "phone": nil],
            "calculated_statement_descriptor": "SETTLE MOCK", "receipt_url": nil, "failure_balance_transaction": nil,
        ]
    }
}
