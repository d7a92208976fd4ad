import Hummingbird
import Logging

/// Per-request state: the `Request-Id` and, on `/v1`, the caller's API key.
public struct CardMockRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String = ""
    /// Idempotency keys are scoped to it.
    public var apiKey: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}
