import Metrics
import Prometheus
import Synchronization

/// The process's Prometheus registry, installed once as the swift-metrics backend so that every
/// metric of every module (HTTP, group commit, reads) ends up in `GET /metrics`.
public struct APIMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// The shared instance; the first use bootstraps swift-metrics.
    public static let shared: APIMetrics = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Latencies of a ledger: from a fraction of a millisecond to seconds.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 10_000]
        MetricsSystem.bootstrap(factory)
        return APIMetrics(registry: registry)
    }()

    /// The text exposition format.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
