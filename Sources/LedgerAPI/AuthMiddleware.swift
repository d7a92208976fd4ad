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
        guard parts.count == 2, parts[0].lowercased() == "bearer", let token = APIKeyToken(parts[1].trimmingPrefix(" ")) else {
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
}
