import Hummingbird

/// A payment scheme's middleware as ``PaymentSchemes`` composes it: several schemes (x402, MPP)
/// offer their terms on the same route, and whichever credential comes is served by its scheme.
public protocol PaymentScheme<Context>: RouterMiddleware {
    /// Whether the request carries a credential of this scheme.
    func carriesCredential(_ request: Request) -> Bool
    /// This scheme's answer to a request that carries no credential of any composed scheme: its
    /// 402 with its offers, or another answer (a 404 for an unrouted request, a 500 for a route
    /// without a price) that wins over every 402.
    func unpaidResponse(_ request: Request, context: Context) async throws -> Response
}
