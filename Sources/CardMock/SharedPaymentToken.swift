/// A single-use Shared Payment Token (`spt_…`, MPP's `stripe` charge method): a card the buyer
/// shared with limits. A PaymentIntent takes it as `shared_payment_granted_token`.
struct SharedPaymentToken: Sendable, Codable, Hashable {
    var id: String
    var created: Int64
    var paymentMethod: String
    var currency: String
    var maxAmount: Int64
    var expiresAt: Int64
    var networkID: String?
    /// The PaymentIntent that used it; a token is spent by its first confirmation attempt.
    var usedBy: String?
    var deactivatedAt: Int64?
    var metadata: [String: String]

    func status(at now: Int64) -> String {
        if deactivatedAt != nil { return "deactivated" }
        if usedBy != nil { return "used" }
        if now >= expiresAt { return "expired" }
        return "active"
    }

    func json(at now: Int64) -> JSON {
        [
            "id": .string(id), "object": "shared_payment.granted_token", "created": .int(created), "livemode": false,
            "payment_method": .string(paymentMethod), "status": .string(status(at: now)),
            "usage_limits": ["currency": .string(currency), "max_amount": .int(maxAmount), "expires_at": .int(expiresAt)],
            "seller_details": ["network_id": .from(networkID)], "used_by": .from(usedBy),
            "deactivated_at": .from(deactivatedAt), "metadata": .from(metadata),
        ]
    }
}
