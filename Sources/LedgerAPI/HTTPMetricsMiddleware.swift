import Hummingbird
import Metrics
import Synchronization

/// Counts requests and times them per route pattern, method and status, under Prometheus-style
/// names (`settle_http_requests_total`, `settle_http_request_duration_seconds`).
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    private struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }
    private final class Cache: Sendable {
        let meters = Mutex([Key: (Counter, Timer)]())
    }
    private let cache = Cache()

    @concurrent func handle(
        _ request: Request, context: APIRequestContext, next: @concurrent (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let key = Key(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: Int(response.status.code))
        let (counter, timer) = cache.meters.withLock { meters in
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
        return response
    }
}
