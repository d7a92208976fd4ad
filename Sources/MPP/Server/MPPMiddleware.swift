import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import Paywall

/// Charges for routes with the `Payment` HTTP authentication scheme (MPP).
///
/// Without a credential: `402` with one `WWW-Authenticate: Payment …` challenge per offer and a
/// `payment-required` problem. With one: ``MPPServer`` checks the challenge and the method takes
/// the payment; then the handler runs and its successful response carries `Payment-Receipt` and
/// `Cache-Control: private`. Refusals are problem documents with the spec's status: 402 with fresh
/// challenges when paying again can help, 403 for a replayed credential (no challenge, so an
/// auto-paying client does not pay twice), 400, 500 when the outcome is unknown. 402s are
/// `Cache-Control: no-store`.
///
/// Which route a request is for is the router's own match (``PricedRoutes``): an endpoint behind
/// the middleware without a price is refused (500), never served free.
public struct MPPMiddleware<Context: RequestContext>: RouterMiddleware {
    public let server: MPPServer
    let routes: PricedRoutes<MPPRoute>

    public init(server: MPPServer, routes: [MPPRoute]) {
        self.server = server
        self.routes = PricedRoutes(routes.map { PricedRoute(path: $0.path, methods: $0.methods, terms: $0) })
    }

    @concurrent public func handle(
        _ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        var request = request
        let route: MPPRoute
        switch routes.match(request, context: context) {
        case .priced(let priced): route = priced
        case .unpriced: return Self.unpriced(request, context: context)
        case .unrouted: throw HTTPError(.notFound)
        }
        let scope = Self.scope(request, route: route, context: context)
        var body: Data?
        if route.bindsBody {
            let buffer = try await request.collectBody(upTo: server.configuration.maxBodyBytes)
            body = Data(buffer: buffer)
        }
        let credential: PaymentCredential?
        do {
            credential = try PaymentCredential.find(
                authorization: request.headers[.authorization], paymentAuthorization: request.headers[.paymentAuthorization])
        } catch {
            return answer(.challenge(error, (try? server.challenges(for: route, scope: scope, body: body)) ?? []), context: context)
        }
        let decision = await server.authorize(credential, route: route, scope: scope, body: body, servesContent: request.method != .head)
        switch decision {
        case .challenge, .refuse: return answer(decision, context: context)
        case .paid(.managed(let receipt, let headers)):
            var response = Response(status: .noContent)
            Self.attach(receipt, headers, to: &response)
            return response
        case .paid(.serve(let receipt, let headers)):
            var response = try await next(request, context)
            guard (200..<300).contains(response.status.code) else { return response }
            Self.attach(receipt, headers, to: &response)
            return response
        }
    }

    func answer(_ decision: MPPServer.Decision, context: Context) -> Response {
        switch decision {
        case .challenge(let problem, let challenges):
            var response = Self.problem(problem)
            for challenge in challenges {
                if let value = try? challenge.wwwAuthenticate() { response.headers.append(HTTPField(name: .wwwAuthenticate, value: value)) }
            }
            response.headers[.accessControlExposeHeaders] = "WWW-Authenticate, Payment-Receipt"
            return response
        case .refuse(let problem):
            if problem.code == .internalPaymentError {
                context.logger.error("mpp payment failed", metadata: ["detail": "\(problem.detail)"])
            }
            return Self.problem(problem)
        case .paid: preconditionFailure("a paid decision is not an answer")
        }
    }

    static func problem(_ problem: PaymentProblem) -> Response {
        Response(
            status: HTTPResponse.Status(code: problem.status),
            headers: [.contentType: PaymentProblem.contentType, .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(data: problem.body)))
    }

    static func attach(_ receipt: PaymentReceipt, _ headers: [String: String], to response: inout Response) {
        if let value = try? receipt.headerValue() { response.headers[.paymentReceipt] = value }
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { response.headers[field] = value }
        }
        response.headers[.cacheControl] = "private"
        response.headers[.accessControlExposeHeaders] = (["Payment-Receipt"] + headers.keys.sorted()).joined(separator: ", ")
    }

    /// `METHOD /route`: the router's path of the endpoint (not the request's text, which has many
    /// spellings), `HEAD` as `GET`.
    static func scope(_ request: Request, route: MPPRoute, context: Context) -> String {
        let method = request.method == .head ? HTTPRequest.Method.get : request.method
        return "\(method.rawValue) \(route.path ?? context.endpointPath ?? request.uri.path)"
    }

    static func unpriced(_ request: Request, context: Context) -> Response {
        context.logger.error(
            "mpp: an endpoint behind the payment middleware has no price; refused",
            metadata: ["endpoint": "\(context.endpointPath ?? "")", "method": "\(request.method)"])
        return problem(PaymentProblem(.internalPaymentError, detail: "This route has no price configured."))
    }
}

extension MPPMiddleware: PaymentScheme {
    public func carriesCredential(_ request: Request) -> Bool {
        if request.headers[.paymentAuthorization] != nil { return true }
        guard let authorization = request.headers[.authorization] else { return false }
        return authorization.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("payment ") }
    }

    public func unpaidResponse(_ request: Request, context: Context) async throws -> Response {
        switch routes.match(request, context: context) {
        case .priced(let route):
            var body: Data?
            if route.bindsBody {
                var copy = request
                body = Data(buffer: try await copy.collectBody(upTo: server.configuration.maxBodyBytes))
            }
            return answer(
                await server.authorize(
                    nil, route: route, scope: Self.scope(request, route: route, context: context), body: body, servesContent: false),
                context: context)
        case .unpriced: return Self.unpriced(request, context: context)
        case .unrouted: throw HTTPError(.notFound)
        }
    }
}

extension HTTPField.Name {
    static let paymentAuthorization = HTTPField.Name("Payment-Authorization")!
    static let paymentReceipt = HTTPField.Name("Payment-Receipt")!
}
