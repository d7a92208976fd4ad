import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The router: Stripe v1 routes under `/v1` (authenticated) and the mock's helpers under `/_mock`.
struct CardMockRoutes: Sendable {
    let store: CardMockStore
    let configuration: CardMockConfiguration

    /// Larger bodies are refused; Stripe requests are small forms.
    static let maxBodyBytes = 1 << 20

    func router() -> Router<CardMockRequestContext> {
        let router = Router(context: CardMockRequestContext.self)
        router.add(middleware: StripeErrorMiddleware())
        let v1 = router.group("/v1").add(middleware: StripeAuthMiddleware(acceptedKey: configuration.apiKey))

        route(v1, .post, "/payment_methods") { _ in .createPaymentMethod }
        route(v1, .get, "/payment_methods/{id}") { .retrievePaymentMethod($0) }
        route(v1, .post, "/payment_intents") { _ in .createPaymentIntent }
        route(v1, .get, "/payment_intents") { _ in .listPaymentIntents }
        route(v1, .get, "/payment_intents/{id}") { .retrievePaymentIntent($0) }
        route(v1, .post, "/payment_intents/{id}") { .updatePaymentIntent($0) }
        route(v1, .post, "/payment_intents/{id}/confirm") { .confirmPaymentIntent($0) }
        route(v1, .post, "/payment_intents/{id}/capture") { .capturePaymentIntent($0) }
        route(v1, .post, "/payment_intents/{id}/cancel") { .cancelPaymentIntent($0) }
        route(v1, .get, "/charges") { _ in .listCharges }
        route(v1, .get, "/charges/{id}") { .retrieveCharge($0) }
        route(v1, .post, "/refunds") { _ in .createRefund }
        route(v1, .get, "/refunds") { _ in .listRefunds }
        route(v1, .get, "/refunds/{id}") { .retrieveRefund($0) }
        route(v1, .get, "/balance") { _ in .retrieveBalance }
        route(v1, .get, "/balance_transactions") { _ in .listBalanceTransactions }
        route(v1, .get, "/balance_transactions/{id}") { .retrieveBalanceTransaction($0) }
        route(v1, .get, "/balance/history") { _ in .listBalanceTransactions }
        route(v1, .get, "/balance/history/{id}") { .retrieveBalanceTransaction($0) }
        route(v1, .post, "/payouts") { _ in .createPayout }
        route(v1, .get, "/payouts") { _ in .listPayouts }
        route(v1, .get, "/payouts/{id}") { .retrievePayout($0) }
        route(v1, .post, "/payouts/{id}/cancel") { .cancelPayout($0) }
        route(v1, .get, "/disputes") { _ in .listDisputes }
        route(v1, .get, "/disputes/{id}") { .retrieveDispute($0) }
        route(v1, .post, "/disputes/{id}") { .updateDispute($0) }
        route(v1, .post, "/disputes/{id}/close") { .closeDispute($0) }
        route(v1, .get, "/events") { _ in .listEvents }
        route(v1, .get, "/events/{id}") { .retrieveEvent($0) }
        route(v1, .post, "/webhook_endpoints") { _ in .createWebhookEndpoint }
        route(v1, .get, "/webhook_endpoints") { _ in .listWebhookEndpoints }
        route(v1, .get, "/webhook_endpoints/{id}") { .retrieveWebhookEndpoint($0) }
        route(v1, .post, "/webhook_endpoints/{id}") { .updateWebhookEndpoint($0) }
        route(v1, .delete, "/webhook_endpoints/{id}") { .deleteWebhookEndpoint($0) }
        route(v1, .post, "/test_helpers/shared_payment/granted_tokens") { _ in .createSharedPaymentToken }
        route(v1, .get, "/shared_payment/granted_tokens/{id}") { .retrieveSharedPaymentToken($0) }
        route(v1, .post, "/test_helpers/shared_payment/granted_tokens/{id}/revoke") { .deactivateSharedPaymentToken($0) }

        let mock = router.group("/_mock")
        route(mock, .get, "/clock") { _ in .readClock }
        route(mock, .post, "/clock/advance") { _ in .advanceClock }
        route(mock, .post, "/payouts/run") { _ in .runPayouts }
        route(mock, .post, "/payouts/{id}/fail") { .failPayout($0) }
        route(mock, .post, "/disputes") { _ in .openDispute }
        route(mock, .post, "/disputes/{id}/win") { .winDispute($0) }
        route(mock, .post, "/disputes/{id}/lose") { .loseDispute($0) }
        route(mock, .post, "/payment_intents/{id}/authenticate") { .authenticate($0) }
        route(mock, .get, "/fee_schedule") { _ in .readFeeSchedule }
        route(mock, .post, "/fee_schedule") { _ in .setFeeSchedule }
        route(mock, .post, "/balance_transactions/{id}/fee") { .adjustFee($0) }
        route(mock, .post, "/shared_payment_tokens") { _ in .createSharedPaymentToken }
        route(mock, .get, "/shared_payment_tokens/{id}") { .retrieveSharedPaymentToken($0) }
        route(mock, .post, "/shared_payment_tokens/{id}/deactivate") { .deactivateSharedPaymentToken($0) }
        route(mock, .get, "/deliveries") { _ in .listDeliveries }
        return router
    }

    private func route(
        _ group: RouterGroup<CardMockRequestContext>, _ method: HTTPRequest.Method, _ path: String,
        _ operation: @escaping @Sendable (String) -> Operation
    ) {
        group.on(RouterPath(path), method: method) { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await handle(request, context, operation(id))
        }
    }

    private func handle(_ request: Request, _ context: CardMockRequestContext, _ operation: Operation) async throws -> Response {
        var params = try FormValue.decode(request.uri.query ?? "")
        if request.method == .post {
            let body = try await request.body.collect(upTo: Self.maxBodyBytes)
            let form = try FormValue.decode(String(buffer: body))
            params.merge(form) { _, body in body }
        }
        let idempotencyKey = request.headers[.idempotencyKey]
        let version = request.headers[.stripeVersion]
        let info = RequestInfo(requestID: context.requestID, idempotencyKey: idempotencyKey, apiVersion: version)
        let answer = await store.execute(
            operation, params: params, method: request.method, path: request.uri.path, apiKey: context.apiKey ?? "_mock", info: info)
        do {
            try await store.journal.sync(answer.sequence)
        } catch {
            throw StripeError(status: .internalServerError, type: "api_error", message: "The change could not be made durable: \(error)")
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if request.method == .post, let idempotencyKey { headers[.idempotencyKey] = idempotencyKey }
        if answer.replayed { headers[.idempotentReplayed] = "true" }
        if let version { headers[.stripeVersion] = version }
        if (400..<500).contains(answer.status), answer.status != 409, answer.status != 429 { headers[.stripeShouldRetry] = "false" }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
