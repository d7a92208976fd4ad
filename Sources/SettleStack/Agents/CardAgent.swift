import MPP

/// An agent paying with MPP `stripe/charge`: its wallet mints a shared payment token for the
/// seller the challenge names (at the card processor mock, as a buyer's wallet would at Stripe)
/// and sends its id as the credential.
public struct CardAgent: Sendable {
    public var processor: CardProcessorClient
    /// A payment method of the mock (`pm_card_visa`; `pm_card_bypassPending` makes the funds
    /// available at once).
    public var paymentMethod: String

    public init(processor: CardProcessorClient, paymentMethod: String = "pm_card_visa") {
        self.processor = processor
        self.paymentMethod = paymentMethod
    }

    /// Pays `url` once.
    /// - Returns: the receipt's reference (the PaymentIntent) and the paid body.
    public func pay(_ url: String) async throws -> (reference: String, body: String) {
        let challenge = try await PaidRoute.challenge(url).challenge(method: "stripe", intent: "charge")
        let request = try challenge.requestObject()
        guard let amount = request["amount"]?.stringValue, let currency = request["currency"]?.stringValue,
            let seller = request["methodDetails"]?.objectValue?["networkId"]?.stringValue
        else { throw StackError(.noOffer, "the stripe/charge challenge lacks its amount, currency or seller") }
        let token = try await processor.post(
            "/v1/test_helpers/shared_payment/granted_tokens",
            [
                "payment_method": paymentMethod, "usage_limits[currency]": currency, "usage_limits[max_amount]": amount,
                "seller_details[network_id]": seller,
            ])
        guard let spt = token["id"] else { throw StackError(.processor, "the mock minted no shared payment token") }
        let credential = PaymentCredential(challenge: challenge, payload: .object(["spt": .string(spt)]))
        return try await credential.pay(url, scheme: "mpp stripe/charge")
    }
}
