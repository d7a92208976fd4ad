import Foundation
import Hummingbird
import Logging

/// The per-request state of the API: the request id and, once authenticated, the caller's key.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Echoed in `X-Request-Id` and logged with every line of the request.
    public var requestID: String = ""
    /// The authenticated key; nil on public routes.
    public var key: APIKey?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// Fails unless the caller's key has `scope` (and so every scope below it).
    func require(_ scope: APIKey.Scope) throws(APIError) -> APIKey {
        guard let key else { throw APIError(.unauthorized, .unauthorized, "this route needs an API key: Authorization: Bearer <key>") }
        guard key.scope >= scope else {
            throw APIError(
                .forbiddenScope, .forbidden, "this route needs a key with scope \(scope.rawValue); key \(key.id) has \(key.scope.rawValue)")
        }
        return key
    }

    /// Fails unless the caller's key may see `account`.
    func requireAccess(to account: String) throws(APIError) {
        guard let key, !key.covers(account) else { return }
        throw APIError(.forbiddenAccount, .forbidden, "key \(key.id) is limited to accounts starting with \(key.accountPrefix ?? "")")
    }
}
