/// A PaymentIntent (`pi_…`) and its state machine's fields (card.md §1.4).
struct PaymentIntent: Sendable, Codable, Hashable {
    enum Status: String, Sendable, Codable {
        case requiresPaymentMethod = "requires_payment_method"
        case requiresConfirmation = "requires_confirmation"
        case requiresAction = "requires_action"
        case processing
        case requiresCapture = "requires_capture"
        case canceled
        case succeeded
    }

    var id: String
    var created: Int64
    var amount: Int64
    var currency: String
    var status: Status
    var captureMethod: String
    var confirmationMethod: String
    var paymentMethod: String?
    var paymentMethodTypes: [String]
    var automaticPaymentMethods: Bool
    var allowRedirects: Bool
    var amountCapturable: Int64 = 0
    var amountReceived: Int64 = 0
    var latestCharge: String?
    var lastPaymentError: JSON?
    var nextAction: JSON?
    var canceledAt: Int64?
    var cancellationReason: String?
    var customer: String?
    var description: String?
    var receiptEmail: String?
    var returnURL: String?
    var offSession: Bool = false
    var sharedPaymentGrantedToken: String?
    var metadata: [String: String]
    var clientSecret: String

    var json: JSON {
        [
            "id": .string(id), "object": "payment_intent", "created": .int(created), "livemode": false,
            "amount": .int(amount), "currency": .string(currency), "status": .string(status.rawValue),
            "capture_method": .string(captureMethod), "confirmation_method": .string(confirmationMethod),
            "payment_method": .from(paymentMethod), "payment_method_types": .array(paymentMethodTypes.map(JSON.string)),
            "automatic_payment_methods": automaticPaymentMethods
                ? ["enabled": true, "allow_redirects": allowRedirects ? "always" : "never"] : nil,
            "amount_capturable": .int(amountCapturable), "amount_received": .int(amountReceived),
            "latest_charge": .from(latestCharge), "last_payment_error": lastPaymentError ?? nil, "next_action": nextAction ?? nil,
            "canceled_at": .from(canceledAt), "cancellation_reason": .from(cancellationReason), "customer": .from(customer),
            "description": .from(description), "receipt_email": .from(receiptEmail), "metadata": .from(metadata),
            "client_secret": .string(clientSecret), "shared_payment_granted_token": .from(sharedPaymentGrantedToken),
            "setup_future_usage": nil, "statement_descriptor": nil, "on_behalf_of": nil, "transfer_data": nil,
            "application_fee_amount": nil, "payment_method_options": ["card": ["request_three_d_secure": "automatic"]],
        ]
    }
}
