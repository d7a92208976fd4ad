import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging
import Metrics
import NIOCore
import Synchronization

/// What every request goes through first, in one layer (each middleware is an async frame per
/// request): it gets an id (the client's `X-Request-Id` when it sends a sane one) that goes in its
/// log lines and the response's `X-Request-Id` header; every error becomes a problem document
/// (nothing past this middleware answers with a bare status); and it is counted and timed per
/// route pattern, method and status under Prometheus-style names (`settle_http_requests_total`,
/// `settle_http_request_duration_seconds`).
struct RequestMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    private struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }
    private final class Meters: Sendable {
        let byKey = Mutex([Key: (Counter, Timer)]())
    }
    private let meters = Meters()

    @concurrent func handle(
        _ request: Request, context: APIRequestContext, next: @concurrent (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let id = request.headers[.requestID].flatMap { Self.isSane($0) ? $0 : nil } ?? Self.newID()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            var apiError = Self.apiError(error)
            var allow: [String]?
            if apiError.status == .notFound, apiError.code == .notFound,
                let methods = DocumentedRoutes.shared.methods(for: request.uri.path), !methods.contains(request.method.rawValue)
            {
                apiError = APIError(.methodNotAllowed, .methodNotAllowed, "the route takes \(methods.joined(separator: ", "))")
                allow = methods
            }
            if apiError.status == .internalServerError {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            response = Problem.response(apiError, requestID: id)
            if let allow { response.headers[.allow] = allow.joined(separator: ", ") }
        }
        response.headers[.requestID] = id
        record(route: context.endpointPath, method: request.method.rawValue, status: Int(response.status.code), since: start)
        return response
    }

    private func record(route: String?, method: String, status: Int, since start: ContinuousClock.Instant) {
        let key = Key(route: route ?? "unmatched", method: method, status: status)
        let (counter, timer) = meters.byKey.withLock { meters in
            if let found = meters[key] { return found }
            let dimensions = [("route", key.route), ("method", key.method), ("status", String(key.status))]
            let made = (
                Counter(label: "settle_http_requests_total", dimensions: dimensions),
                Timer(label: "settle_http_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
            )
            meters[key] = made
            return made
        }
        counter.increment()
        let elapsed = ContinuousClock.now - start
        timer.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    static func apiError(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as LedgerError: return APIError(error)
        case is NIOTooManyBytesError:
            return APIError(.bodyTooLarge, .contentTooLarge, "the request body is larger than this server accepts")
        case let error as HTTPError:
            switch error.status {
            case .notFound: return APIError(.notFound, .notFound, "no such route")
            case .methodNotAllowed: return APIError(.methodNotAllowed, .methodNotAllowed, "the route does not take this method")
            case .contentTooLarge: return APIError(.bodyTooLarge, .contentTooLarge, "the request body is larger than this server accepts")
            default: return APIError(.invalidRequest, error.status, error.body ?? error.status.reasonPhrase)
            }
        default:
            return APIError(.internalError, .internalServerError, "internal error")
        }
    }

    private static func isSane(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy {
                $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            }
    }

    private static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return withUnsafeBytes(of: generator.next()) { $0.lowercaseHex }
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self)
    }
}
