import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging
import NIOCore

/// Gives every request an id (the client's `X-Request-Id` when it sends a sane one), puts it in the
/// request's log lines and the response's `X-Request-Id` header, and turns every error into a
/// problem document: nothing past this middleware answers with a bare status.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    @concurrent func handle(
        _ request: Request, context: APIRequestContext, next: @concurrent (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        let id = request.headers[.requestID].flatMap { Self.isSane($0) ? $0 : nil } ?? Self.newID()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = Self.apiError(error)
            if apiError.status == .internalServerError {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            response = Problem.response(apiError, requestID: id)
        }
        response.headers[.requestID] = id
        return response
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
        return String(generator.next(), radix: 16).leftPadded(16)
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
