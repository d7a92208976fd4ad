import EVM
import Foundation
import Hummingbird
import Ledger
import MPP
import NIOHTTP1
import Paywall
import SettleTesting
import Synchronization
import Testing

@testable import X402

/// One route, every offer: x402 and MPP composed by `PaymentSchemes` on the same route, each
/// credential served by its own scheme, the unpaid answer carrying both.
@Suite struct OneRouteTests {
    /// An MPP method that accepts `good-…` tokens, once each.
    struct TokenMethod: MPPMethod {
        var method: String { "test" }
        var intent: String { "charge" }
        func pay(_ payment: MPPPayment) async throws(PaymentProblem) -> MPPPaid {
            guard let token = payment.payload["token"]?.stringValue, token.hasPrefix("good-") else {
                throw PaymentProblem(.verificationFailed, detail: "bad token")
            }
            try await payment.proofs.reserve(proof: "one-route:" + token, challengeID: payment.challenge.id, method: method, intent: intent)
            return .serve(PaymentReceipt(method: method, timestamp: ChallengeExpiry.format(Date()), reference: token))
        }
    }

    static func start(_ harness: X402Harness) async throws -> String {
        let router = Router(context: BasicRequestContext.self)
        let x402 = X402Middleware<BasicRequestContext>(
            configuration: X402ServerConfiguration(
                routes: [X402Route(path: "/paid", accepts: [harness.requirements()])], v1: X402V1Bridge(networks: ["devchain": 31337])),
            facilitator: harness.facilitator, store: X402ResponseStore(client: harness.ledger.client, logger: X402Harness.logger))
        let mpp = MPPMiddleware<BasicRequestContext>(
            server: MPPServer(
                configuration: MPPServerConfiguration(
                    realm: "127.0.0.1", secrets: try ChallengeSecrets(["one-route-secret-of-at-least-thirty-two-bytes"])),
                proofs: MPPProofStore(client: harness.ledger.client, logger: X402Harness.logger)),
            routes: [
                MPPRoute(
                    path: "/paid", offers: [MPPOffer(method: TokenMethod(), request: ["amount": .string("1000")])],
                    merchantAccount: harness.merchant.rawValue)
            ])
        let paid = router.group().add(middleware: PaymentSchemes<BasicRequestContext>([mpp, x402]))
        paid.get("/paid") { _, _ in "paid content" }
        paid.get("/unpriced") { _, _ in "unpriced content" }
        return try await harness.serve(router)
    }

    @Test func theUnpaidAnswerOffersBothSchemesAndEachCredentialIsServedByItsOwn() async throws {
        try await X402Harness.with { harness in
            let base = try await Self.start(harness)
            let unpaid = try await X402Harness.get(base + "/paid")
            #expect(unpaid.status == 402)
            #expect(unpaid.paymentRequired?.accepts.first?.payTo == harness.payTo.checksummed)
            let challenges = try unpaid.headers["WWW-Authenticate"].flatMap { try PaymentChallenge.parse(wwwAuthenticate: $0) }
            #expect(challenges.map(\.method) == ["test"])
            let body = try #require(try JSONSerialization.jsonObject(with: Data(unpaid.body.utf8)) as? [String: Any])
            #expect(body["type"] as? String == "https://paymentauth.org/problems/payment-required")
            #expect((body["accepts"] as? [Any])?.count == 1, "x402 v1 clients read the offers from the body")
            #expect(unpaid.headers.first(name: "Cache-Control") == "no-store")
            let exposed = unpaid.headers.first(name: "Access-Control-Expose-Headers") ?? ""
            #expect(exposed.contains("WWW-Authenticate") && exposed.contains("PAYMENT-REQUIRED"))

            // MPP.
            let challenge = try #require(challenges.first)
            let token = "good-" + harness.id
            let authorization = try PaymentCredential(challenge: challenge, payload: .object(["token": .string(token)])).authorization()
            let mppPaid = try await X402Harness.get(base + "/paid", headers: [("Authorization", authorization)])
            #expect(mppPaid.status == 200 && mppPaid.body == "paid content")
            #expect(mppPaid.headers.first(name: "Payment-Receipt") != nil && mppPaid.paymentResponse == nil)
            #expect(try await X402Harness.get(base + "/paid", headers: [("Authorization", authorization)]).status == 403)

            // x402.
            let payer = try await harness.fundedPayer()
            let payload = try X402Harness.payment(key: payer, requirements: harness.requirements())
            let x402Paid = try await X402Harness.pay(base + "/paid", payload)
            #expect(x402Paid.status == 200 && x402Paid.body == "paid content")
            #expect(x402Paid.paymentResponse?.success == true && x402Paid.headers.first(name: "Payment-Receipt") == nil)

            // Fails closed: an unpriced endpoint is refused by both.
            let unpriced = try await X402Harness.get(base + "/unpriced")
            #expect(unpriced.status == 500 && !unpriced.body.contains("unpriced content"))
        }
    }
}
