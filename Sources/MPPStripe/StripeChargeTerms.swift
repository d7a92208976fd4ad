import MPP

/// The terms of a `stripe/charge` offer, read back from the request object the route issues (the
/// server has checked that the credential's challenge carries exactly that object).
struct StripeChargeTerms: Sendable {
    var amount: Int64
    var currency: String
    var paymentMethodTypes: [String]
    var externalId: String?
    var metadata: [String: String]

    /// - Throws: ``PaymentProblem/Code/internalPaymentError``: the route's own offer is malformed,
    ///   a configuration error that must refuse, not serve.
    init(_ request: [String: JSONValue]) throws(PaymentProblem) {
        guard let text = request["amount"]?.stringValue, let amount = Int64(text), amount > 0,
            let currency = request["currency"]?.stringValue, !currency.isEmpty,
            case .object(let details)? = request["methodDetails"],
            case .array(let types)? = details["paymentMethodTypes"], !types.isEmpty
        else {
            throw PaymentProblem(.internalPaymentError, detail: "The route's stripe/charge offer is malformed; nothing was charged.")
        }
        self.amount = amount
        self.currency = currency
        self.paymentMethodTypes = types.compactMap(\.stringValue)
        self.externalId = request["externalId"]?.stringValue
        var metadata: [String: String] = [:]
        if case .object(let members)? = details["metadata"] {
            for (key, value) in members { if let value = value.stringValue { metadata[key] = value } }
        }
        self.metadata = metadata
    }
}
