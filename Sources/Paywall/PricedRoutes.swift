import HTTPTypes
import Hummingbird

/// The priced routes of a payment middleware, matched by the route the router dispatched the
/// request to, never by the request's path text.
///
/// Every payment middleware (x402, MPP) decides "is this request priced, and at what terms" here:
/// the router ignores empty segments, and may ignore case, so `/paid/joke/`, `//paid/joke` and
/// `/paid//joke` reach the `/paid/joke` handler; matching the text of the path would let them
/// through unpaid. A middleware is installed on a router group (or a router) and runs only for
/// requests the router matched to an endpoint of that group; ``match(_:context:)`` tells it which
/// of its configured routes that endpoint is. It fails closed: an endpoint behind the middleware
/// without terms for the request's method is ``Match/unpriced`` (to refuse, never to serve), and a
/// request the router matched to no endpoint is ``Match/unrouted``.
///
/// ```swift
/// let routes = PricedRoutes([PricedRoute(path: "/paid/joke", terms: offer)])
/// switch routes.match(request, context: context) {
/// case .priced(let offer): ...  // charge
/// case .unpriced: ...           // refuse: misconfigured
/// case .unrouted: ...           // 404
/// }
/// ```
public struct PricedRoutes<Terms: Sendable>: Sendable {
    /// What the router's match means for the middleware.
    public enum Match: Sendable {
        /// The request is for a priced route: charge these terms.
        case priced(Terms)
        /// The router matched an endpoint behind the middleware that has no terms for this method.
        case unpriced
        /// The router matched no endpoint (or the middleware runs outside a router).
        case unrouted
    }

    private let routes: [PricedRoute<Terms>]

    public init(_ routes: [PricedRoute<Terms>]) {
        self.routes = routes
    }

    /// The terms of the route the router matched `request` to.
    ///
    /// `HEAD` is priced as `GET`: the router serves it with the `GET` handler when it generates
    /// `HEAD` endpoints, so it must never pass where `GET` would be charged.
    public func match(_ request: Request, context: some RequestContext) -> Match {
        guard let endpoint = context.endpointPath else { return .unrouted }
        let method = request.method == .head ? .get : request.method
        // An exact match first: a case-sensitive router may have routes that differ only in case.
        for exact in [true, false] {
            for route in routes where route.methods.contains(method) && route.matches(endpoint, exact: exact) {
                return .priced(route.terms)
            }
        }
        return .unpriced
    }
}

/// One priced route: the router path it charges for (as registered with the router), the methods,
/// and the terms.
public struct PricedRoute<Terms: Sendable>: Sendable {
    /// The route as registered with the router, e.g. `/paid/joke` or `/reports/{id}`; nil: every
    /// endpoint behind the middleware.
    public var path: String?
    public var methods: Set<HTTPRequest.Method>
    public var terms: Terms
    private let canonical: String?
    private let lowercased: String?

    public init(path: String?, methods: Set<HTTPRequest.Method>, terms: Terms) {
        self.path = path
        self.methods = methods
        self.terms = terms
        // The router describes its endpoints the same way: components joined by one `/`, and
        // lowercased when it is case-insensitive.
        canonical = path.map { RouterPath($0).description }
        lowercased = path.map { RouterPath($0).lowercased().description }
    }

    func matches(_ endpoint: String, exact: Bool) -> Bool {
        guard let canonical, let lowercased else { return true }
        return exact ? canonical == endpoint : lowercased == endpoint
    }
}
