import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Gives every request a `Request-Id` and answers every error in Stripe's envelope, so no client
/// ever sees a non-2xx without `error` (stripe-python would raise a bare `APIError`).
struct StripeErrorMiddleware: RouterMiddleware {
    typealias Context = CardMockRequestContext

    @concurrent func handle(
        _ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.requestID = CardMockStore.newID("req", length: 14)
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let stripeError = Self.stripeError(error, request)
            if stripeError.status == .internalServerError {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            response = Self.response(stripeError)
        }
        response.headers[.requestID] = context.requestID
        return response
    }

    static func stripeError(_ error: any Error, _ request: Request) -> StripeError {
        switch error {
        case let error as StripeError: return error
        case is NIOTooManyBytesError:
            return StripeError(status: .contentTooLarge, type: "invalid_request_error", message: "The request body is too large.")
        case let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed:
            return StripeError(
                status: .notFound, type: "invalid_request_error",
                message:
                    "Unrecognized request URL (\(request.method.rawValue): \(request.uri.path)). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
            )
        case let error as HTTPError:
            return StripeError(status: error.status, type: "invalid_request_error", message: error.body ?? error.status.reasonPhrase)
        default:
            return StripeError(status: .internalServerError, type: "api_error", message: "An internal error occurred in the card mock.")
        }
    }

    static func response(_ error: StripeError) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: error.json.encoded())))
    }
}

/// `Authorization: Bearer sk_test_…` or Basic `sk_test_…:`; any test secret or restricted key, or
/// only the configured one.
struct StripeAuthMiddleware: RouterMiddleware {
    typealias Context = CardMockRequestContext
    let acceptedKey: String?

    @concurrent func handle(
        _ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], let key = Self.key(from: header) else {
            throw StripeError.unauthorized(
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."
            )
        }
        let shaped = (key.hasPrefix("sk_test_") || key.hasPrefix("rk_test_")) && key.count > 8
        guard shaped, acceptedKey == nil || acceptedKey == key else {
            throw StripeError.unauthorized("Invalid API Key provided: \(Self.redacted(key))")
        }
        var context = context
        context.apiKey = key
        return try await next(request, context)
    }

    static func key(from header: String) -> String? {
        if header.hasPrefix("Bearer ") { return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
        if header.hasPrefix("Basic "), let data = Data(base64Encoded: String(header.dropFirst(6))) {
            return String(decoding: data, as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false).first.map(String.init)
        }
        return nil
    }

    static func redacted(_ key: String) -> String {
        key.count <= 12 ? String(repeating: "*", count: key.count) : String(key.prefix(8)) + "****" + String(key.suffix(4))
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("Request-Id")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
    static let stripeVersion = HTTPField.Name("Stripe-Version")!
    static let stripeShouldRetry = HTTPField.Name("Stripe-Should-Retry")!
}
