import HTTPTypes
import Hummingbird
import Logging

/// Authenticates `Authorization: Bearer <key>`; routes then check the key's scope and prefix.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let keys: APIKeyStore

    @concurrent func handle(
        _ request: Request, context: APIRequestContext, next: @concurrent (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, .unauthorized, "missing API key: send Authorization: Bearer <key>")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, Self.isBearer(parts[0]), let token = APIKeyToken(parts[1].trimmingPrefix(" ")) else {
            throw APIError(.unauthorized, .unauthorized, "malformed API key: send Authorization: Bearer settle_<id>_<secret>")
        }
        guard let key = try await keys.verify(token) else {
            throw APIError(.unauthorized, .unauthorized, "unknown or revoked API key")
        }
        var context = context
        context.key = key
        context.logger[metadataKey: "key_id"] = .string(key.id)
        return try await next(request, context)
    }

    /// The scheme is case-insensitive (RFC 9110 §11.1).
    private static func isBearer(_ scheme: Substring) -> Bool {
        scheme.utf8.count == 6 && zip(scheme.utf8, "bearer".utf8).allSatisfy { $0 | 0x20 == $1 }
    }
}
