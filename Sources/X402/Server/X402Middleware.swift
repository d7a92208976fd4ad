import Crypto
import EVM
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging
import NIOCore
import NIOFoundationCompat
import Paywall

/// A priced route: what a call costs and how it may be paid.
public struct X402Route: Sendable, Hashable {
    /// The route as registered with the router (`/paid/joke`, `/reports/{id}`), matched against
    /// the endpoint the router dispatches the request to, never against the request's path text;
    /// nil: every endpoint behind the middleware.
    public var path: String?
    /// The methods it charges for. `HEAD` is priced as `GET` and always answered 402 (it serves no
    /// content and is never settled), so it never reaches the handler.
    public var methods: Set<HTTPRequest.Method>
    /// The offers, usually one ``PaymentRequirements/exact(network:amount:asset:payTo:maxTimeoutSeconds:name:version:)``.
    public var accepts: [PaymentRequirements]
    /// The resource described in the 402; nil: the request's URL.
    public var resource: ResourceInfo?
    /// Refuse (400) payments without a `payment-identifier` id.
    public var requirePaymentIdentifier: Bool

    public init(
        path: String? = nil, methods: Set<HTTPRequest.Method> = [.get, .post, .put, .patch, .delete], accepts: [PaymentRequirements],
        resource: ResourceInfo? = nil, requirePaymentIdentifier: Bool = false
    ) {
        self.path = path
        self.methods = methods
        self.accepts = accepts
        self.resource = resource
        self.requirePaymentIdentifier = requirePaymentIdentifier
    }
}

/// The resource server's x402 settings.
public struct X402ServerConfiguration: Sendable {
    public var routes: [X402Route]
    public var codec: X402HeaderCodec
    public var v1: X402V1Bridge
    /// A claim on a payment whose request died is taken over after this long.
    public var claimLease: Duration
    /// Larger handler responses are refused (500) rather than buffered: content is held back
    /// until the payment settles.
    public var maxResponseBytes: Int
    /// The tokens the routes are priced in: their decimals turn a handler's `$0.01` override
    /// into base units.
    public var tokens: [X402Token]

    public init(
        routes: [X402Route], codec: X402HeaderCodec = .standard, v1: X402V1Bridge = X402V1Bridge(), claimLease: Duration = .seconds(120),
        maxResponseBytes: Int = 16 << 20, tokens: [X402Token] = []
    ) {
        self.routes = routes
        self.codec = codec
        self.v1 = v1
        self.claimLease = claimLease
        self.maxResponseBytes = maxResponseBytes
        self.tokens = tokens
    }

    /// The decimals of the token `requirements` are priced in, when it is one of ``tokens``.
    func decimals(of requirements: PaymentRequirements) -> Int? {
        tokens.first { $0.network == requirements.network && $0.address.lowercased == requirements.asset.lowercased() }?.decimals
    }
}

/// Entry points for resource servers.
public enum X402Server {
    /// A group of `router` behind the middleware: register the priced handlers on it, and nothing
    /// else (an endpoint of the group without a price is refused, never served free).
    ///
    /// ```swift
    /// let paid = X402Server.routes(on: router, configuration: configuration, facilitator: facilitator, store: store)
    /// paid.get("/weather") { _, _ in "sunny" }
    /// router.get("/free") { _, _ in "free" }
    /// let app = Application(router: CanonicalPaths(router))  // `/%77eather` is `/weather` too
    /// ```
    public static func routes<Context: RequestContext>(
        on router: some RouterMethods<Context>, configuration: X402ServerConfiguration, facilitator: any Facilitator,
        store: X402ResponseStore, batch: X402BatchServer? = nil
    ) -> RouterGroup<Context> {
        router.group().add(
            middleware: X402Middleware<Context>(configuration: configuration, facilitator: facilitator, store: store, batch: batch))
    }
}

/// Charges for routes with x402 (v2 `PAYMENT-SIGNATURE`, v1 `X-PAYMENT`).
///
/// Without a payment: 402 with `PAYMENT-REQUIRED` (and the v1 body). With one: 400 if it does not
/// decode; otherwise it is bound to the route's own requirements and verified, the handler runs,
/// its response is held back, the payment is settled, and only a successful settlement releases
/// the content, with `PAYMENT-RESPONSE`. A pending or failed settlement answers 402 with the
/// reason; a handler error or non-2xx answer settles nothing. One payment is served once: the
/// content goes out only after the payment is recorded as served. The `payment-identifier`
/// extension replays the stored response for the same id and payload, and answers 409 for the same
/// id with another payload.
///
/// Which route a request is for is the router's own match (``PricedRoutes``): every spelling of a
/// priced path that reaches its handler is charged; an endpoint behind the middleware without a
/// price is refused (500), never served free; `HEAD` is answered 402.
public struct X402Middleware<Context: RequestContext>: RouterMiddleware {
    public let configuration: X402ServerConfiguration
    public let facilitator: any Facilitator
    public let store: X402ResponseStore
    /// Serves the routes' `batch-settlement` offers; nil: that scheme is refused.
    public let batch: X402BatchServer?
    let routes: PricedRoutes<X402Route>

    public init(
        configuration: X402ServerConfiguration, facilitator: any Facilitator, store: X402ResponseStore, batch: X402BatchServer? = nil
    ) {
        self.configuration = configuration
        self.facilitator = facilitator
        self.store = store
        self.batch = batch
        routes = PricedRoutes(configuration.routes.map { PricedRoute(path: $0.path, methods: $0.methods, terms: $0) })
    }

    @concurrent public func handle(
        _ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        let route: X402Route
        switch routes.match(request, context: context) {
        case .priced(let priced): route = priced
        case .unpriced: return Self.unpriced(context: context, request: request)
        case .unrouted: throw HTTPError(.notFound)
        }
        let resource = route.resource ?? ResourceInfo(url: Self.url(of: request))
        if request.method == .head {
            return paymentRequired(route, resource, error: "HEAD is not paid for: send GET with a payment")
        }
        let v2Header = request.headers[.paymentSignature]
        guard let header = v2Header ?? request.headers[.xPayment] else {
            return paymentRequired(route, resource, error: "PAYMENT-SIGNATURE header is required")
        }
        let v1 = v2Header == nil
        let codec = configuration.codec
        var payload: PaymentPayload
        var requirements: PaymentRequirements
        do {
            if v1 {
                let old = try codec.decode(PaymentPayloadV1.self, from: header)
                guard old.x402Version == 1 else { throw X402WireError(.unsupportedVersion, "X-PAYMENT carries x402Version 1") }
                guard let match = route.accepts.first(where: { configuration.v1.v2(old, for: $0) != nil }),
                    let converted = configuration.v1.v2(old, for: match)
                else {
                    return paymentRequired(
                        route, resource, error: "no offer matches the payment's scheme and network", reason: .networkMismatch)
                }
                payload = converted
                requirements = match
            } else {
                payload = try codec.decode(PaymentPayload.self, from: header)
                guard payload.x402Version == 2 else { throw X402WireError(.unsupportedVersion, "PAYMENT-SIGNATURE carries x402Version 2") }
                // The route's own terms, never the client's copy: an offer for another route or
                // price, recipient, asset or network fails the facilitator's binding checks.
                requirements =
                    route.accepts.first { $0.sameTerms(as: payload.accepted) }
                    ?? route.accepts.first { $0.scheme == payload.accepted.scheme && $0.network == payload.accepted.network }
                    ?? route.accepts[0]
            }
        } catch {
            return invalid(route, resource, reason: .invalidPayload, message: "\(error)")
        }
        if !v1, payload.accepted.scheme == X402BatchFacilitator.scheme {
            return try await handleBatch(
                payload, requirements: requirements, route: route, resource: resource, request: request, context: context, next: next)
        }
        let paymentID = payload.paymentIdentifier
        if let paymentID, !Self.isValidPaymentID(paymentID) {
            return invalid(
                route, resource, reason: .invalidPayload, message: "payment-identifier id must be 16-128 characters of [A-Za-z0-9_-]")
        }
        if route.requirePaymentIdentifier, paymentID == nil {
            return invalid(route, resource, reason: .invalidPayload, message: "this route requires a payment-identifier")
        }
        guard let identity = Self.identity(of: payload) else {
            // Not an EIP-3009 payload: the facilitator says why.
            let verdict = try await facilitator.verify(payload, requirements: requirements)
            return paymentRequired(
                route, resource, error: verdict.invalidMessage ?? "invalid payment", reason: verdict.invalidReason ?? .invalidPayload)
        }
        let key = identity.key(requirements)
        let resumed: Bool
        switch try await store.claim(key: key, paymentID: paymentID, requestHash: identity.hash, lease: configuration.claimLease) {
        case .cached(let stored): return Self.response(stored)
        case .conflict:
            return Self.json(
                .conflict,
                ["error": "payment-identifier was used with another payment", "reason": X402Reason.paymentIdentifierConflict.rawValue])
        case .busy:
            return Self.json(
                .conflict, ["error": "this payment is being served to another request", "reason": X402Reason.paymentInProgress.rawValue])
        case .alreadyServed:
            // Refused either way; the facilitator's reason is the more precise one (a replay on a
            // route with another price is a value mismatch before it is a used nonce).
            let verdict = try await facilitator.verify(payload, requirements: requirements)
            let reason = verdict.isValid ? .nonceAlreadyUsed : verdict.invalidReason ?? .nonceAlreadyUsed
            return paymentRequired(route, resource, error: "this payment was already used", reason: reason)
        case .claimed(let wasResumed): resumed = wasResumed
        }
        do {
            if !resumed {
                let verdict = try await facilitator.verify(payload, requirements: requirements)
                guard verdict.isValid else {
                    try await store.release(key: key)
                    return paymentRequired(
                        route, resource, error: verdict.invalidMessage ?? "invalid payment",
                        reason: verdict.invalidReason ?? .invalidPayload)
                }
            }
            var response = try await next(request, context)
            guard (200..<300).contains(response.status.code) else {
                try await store.release(key: key)
                return response
            }
            let body = try await response.body.collect(upTo: configuration.maxResponseBytes)
            // `upto`: what the handler charged (an internal header, never sent on).
            let charged = Self.settlementRequirements(
                requirements, overrides: response.headers[.settlementOverrides], decimals: configuration.decimals(of: requirements))
            response.headers[.settlementOverrides] = nil
            guard case .success(let settleRequirements) = charged else {
                context.logger.error("x402 Settlement-Overrides not applied; nothing settled", metadata: ["error": "\(charged)"])
                try await store.release(key: key)
                return Self.json(.internalServerError, ["error": "the handler's Settlement-Overrides could not be applied"])
            }
            let settlement: SettleResponse
            do {
                settlement = try await facilitator.settle(payload, requirements: settleRequirements)
            } catch {
                context.logger.error("x402 settle failed", metadata: ["error": "\(error)"])
                try await store.release(key: key)
                return paymentRequired(route, resource, error: "the payment could not be settled", reason: .unexpectedSettleError)
            }
            guard settlement.success else {
                try await store.release(key: key)
                var refusal = paymentRequired(
                    route, resource, error: settlement.errorMessage ?? "settlement failed",
                    reason: settlement.errorReason ?? .unexpectedSettleError)
                refusal.headers[v1 ? .xPaymentResponse : .paymentResponse] = codec.encode(settlement)
                return refusal
            }
            let encoded = codec.encode(settlement)
            response.headers[v1 ? .xPaymentResponse : .paymentResponse] = encoded
            response.headers[.cacheControl] = "private, no-store"
            response.headers[.accessControlExposeHeaders] = "PAYMENT-RESPONSE, X-PAYMENT-RESPONSE"
            response.headers[.contentLength] = String(body.readableBytes)
            response.body = ResponseBody(byteBuffer: body)
            var stored: StoredResponse?
            if paymentID != nil {
                var fields: [String: String] = [:]
                for field in response.headers { fields[field.name.canonicalName] = field.value }
                stored = StoredResponse(status: Int(response.status.code), headers: fields, body: Array(buffer: body))
            }
            do {
                try await store.served(key: key, response: stored)
            } catch {
                // The content goes out only once "served" is durable. Unrecorded, the claim stays
                // `serving`: a retry of the same payment takes it over after the lease, settles
                // again (idempotent: the stored outcome) and is served then, once.
                context.logger.error("x402 served record not written; content held back", metadata: ["key": "\(key)", "error": "\(error)"])
                var unrecorded = Self.json(
                    .serviceUnavailable,
                    [
                        "error": "the payment is settled but could not be recorded as served: retry the same payment",
                        "reason": X402Reason.servedNotRecorded.rawValue,
                    ])
                unrecorded.headers[.retryAfter] = String(configuration.claimLease.components.seconds)
                unrecorded.headers[v1 ? .xPaymentResponse : .paymentResponse] = encoded
                return unrecorded
            }
            return response
        } catch {
            try? await store.release(key: key)
            throw error
        }
    }

    // MARK: Answers

    /// - Parameter accepts: the offers to send; nil: the route's (a corrective 402 adds channel state to them).
    func paymentRequired(
        _ route: X402Route, _ resource: ResourceInfo, error: String, reason: X402Reason? = nil, accepts: [PaymentRequirements]? = nil
    ) -> Response {
        let message = reason.map(\.rawValue) ?? error
        var extensions: [String: JSONValue] = [
            "payment-identifier": .object([
                "info": .object(["required": .bool(route.requirePaymentIdentifier)]),
                "schema": .object([
                    "$schema": .string("https://json-schema.org/draft/2020-12/schema"), "type": .string("object"),
                    "properties": .object([
                        "required": .object(["type": .string("boolean")]),
                        "id": .object([
                            "type": .string("string"), "minLength": .number("16"), "maxLength": .number("128"),
                            "pattern": .string("^[a-zA-Z0-9_-]+$"),
                        ]),
                    ]),
                    "required": .array([.string("required")]),
                ]),
            ])
        ]
        if route.accepts.isEmpty { extensions = [:] }
        let required = PaymentRequired(error: message, resource: resource, accepts: accepts ?? route.accepts, extensions: extensions)
        let v1Accepts = route.accepts.compactMap { configuration.v1.v1($0, resource: resource) }
        let body = X402HeaderCodec.json(PaymentRequiredV1(error: message, accepts: v1Accepts))
        return Response(
            status: HTTPResponse.Status(code: 402),
            headers: [
                .paymentRequired: configuration.codec.encode(required), .contentType: "application/json", .cacheControl: "no-store",
                .accessControlExposeHeaders: "PAYMENT-REQUIRED, PAYMENT-RESPONSE, X-PAYMENT-RESPONSE",
            ],
            body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    static func unpriced(context: Context, request: Request) -> Response {
        context.logger.error(
            "x402: an endpoint behind the payment middleware has no price; refused",
            metadata: ["endpoint": "\(context.endpointPath ?? "")", "method": "\(request.method)"])
        return json(.internalServerError, ["error": "this route has no price configured"])
    }

    func invalid(_ route: X402Route, _ resource: ResourceInfo, reason: X402Reason, message: String) -> Response {
        var response = paymentRequired(route, resource, error: message, reason: reason)
        response.status = .badRequest
        return response
    }

    static func json(_ status: HTTPResponse.Status, _ body: [String: String]) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(data: X402HeaderCodec.json(body))))
    }

    static func response(_ stored: StoredResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in stored.headers {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        return Response(
            status: HTTPResponse.Status(code: stored.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
    }

    // MARK: Helpers

    struct Identity {
        var payer: String
        var nonce: String
        var hash: [UInt8]

        func key(_ requirements: PaymentRequirements) -> String {
            PaymentKey(network: requirements.network, asset: requirements.asset, payer: payer, nonce: nonce).description
        }
    }

    /// The payer, nonce and a hash of what was signed and accepted; nil when the payload is neither
    /// an EIP-3009 authorization nor an `upto` Permit2 authorization.
    static func identity(of payload: PaymentPayload) -> Identity? {
        guard let authorization = payload.payload["authorization"], let from = authorization["from"]?.stringValue,
            let nonce = authorization["nonce"]?.stringValue, from.utf8.count == 42, nonce.utf8.count == 66
        else { return uptoIdentity(of: payload) }
        let hash = Array(SHA256.hash(data: X402HeaderCodec.json(CanonicalPayment(accepted: payload.accepted, payload: payload.payload))))
        return Identity(payer: from, nonce: nonce, hash: hash)
    }

    static func isValidPaymentID(_ id: String) -> Bool {
        (16...128).contains(id.utf8.count)
            && id.utf8.allSatisfy {
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == UInt8(ascii: "-")
                    || $0 == UInt8(ascii: "_")
            }
    }

    static func url(of request: Request) -> String {
        let host = request.head.authority ?? "localhost"
        return "http://\(host)\(request.uri.path)"
    }
}

extension HTTPField.Name {
    static let paymentRequired = HTTPField.Name("PAYMENT-REQUIRED")!
    static let paymentSignature = HTTPField.Name("PAYMENT-SIGNATURE")!
    static let paymentResponse = HTTPField.Name("PAYMENT-RESPONSE")!
    static let xPayment = HTTPField.Name("X-PAYMENT")!
    static let xPaymentResponse = HTTPField.Name("X-PAYMENT-RESPONSE")!
}

/// What a payment's identity hash covers: the accepted offer and the signed scheme payload (not
/// the extensions, which carry the payment-identifier itself).
struct CanonicalPayment: Encodable {
    var accepted: PaymentRequirements
    var payload: JSONValue
}
