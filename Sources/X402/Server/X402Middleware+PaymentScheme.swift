import Hummingbird
import Paywall

extension X402Middleware: PaymentScheme {
    public func carriesCredential(_ request: Request) -> Bool {
        request.headers[.paymentSignature] != nil || request.headers[.xPayment] != nil
    }

    public func unpaidResponse(_ request: Request, context: Context) async throws -> Response {
        switch routes.match(request, context: context) {
        case .priced(let route):
            return paymentRequired(
                route, route.resource ?? ResourceInfo(url: Self.url(of: request)), error: "PAYMENT-SIGNATURE header is required")
        case .unpriced: return Self.unpriced(context: context, request: request)
        case .unrouted: throw HTTPError(.notFound)
        }
    }
}
