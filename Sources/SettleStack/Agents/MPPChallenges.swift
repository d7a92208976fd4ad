import MPP
import NIOHTTP1

extension PaidRouteAnswer {
    /// The 402's MPP challenges (`WWW-Authenticate: Payment …`), every header and every challenge in it.
    var paymentChallenges: [PaymentChallenge] {
        headers["WWW-Authenticate"].flatMap { (try? PaymentChallenge.parse(wwwAuthenticate: $0)) ?? [] }
    }

    /// The challenge of `method`/`intent`, or an error naming what is missing.
    func challenge(method: String, intent: String) throws(StackError) -> PaymentChallenge {
        guard let challenge = paymentChallenges.first(where: { $0.method == method && $0.intent == intent }) else {
            throw StackError(.noOffer, "no MPP \(method)/\(intent) challenge")
        }
        return challenge
    }
}

extension PaymentCredential {
    /// Pays `url` with this credential: the `Payment-Receipt`'s reference and the paid body. A
    /// management action (a session's open or close) is answered 204 with the receipt only.
    func pay(_ url: String, scheme: String, management: Bool = false) async throws -> (reference: String, body: String) {
        let answer = try await PaidRoute.paid(
            url, headers: [("Authorization", try authorization())], scheme: scheme, expected: management ? 204 : 200)
        let receipt = try answer.headers.first(name: "Payment-Receipt").map { try PaymentReceipt.parse($0) }
        return (receipt?.reference ?? "", answer.body)
    }
}
