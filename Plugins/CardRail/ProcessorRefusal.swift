/// The processor's definite "no" to a call: a 4xx answer with its error envelope (a declined card,
/// a spent or expired shared payment token, an unknown object). Nothing moved; a 409 or 429 is
/// not a refusal (the outcome is not known yet), nor is a 5xx or a broken connection.
public struct ProcessorRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status: 402 for a card decline, 400 for an invalid request, 404 for an unknown object.
    public var status: Int
    /// `card_error`, `invalid_request_error`, `idempotency_error`, …
    public var type: String?
    /// `card_declined`, `shared_payment_token_already_used`, `resource_missing`, …
    public var code: String?
    /// The issuer's reason for a card decline, such as `insufficient_funds`.
    public var declineCode: String?
    public var message: String?

    public init(status: Int, type: String?, code: String?, declineCode: String? = nil, message: String?) {
        self.status = status
        self.type = type
        self.code = code
        self.declineCode = declineCode
        self.message = message
    }

    public var description: String {
        let reason = [type, code, declineCode].compactMap { $0 }.joined(separator: "/")
        return "\(status) \(reason.isEmpty ? "error" : reason): \(message ?? "")"
    }
}
