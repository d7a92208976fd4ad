import HTTPTypes
import Hummingbird
import LedgerAPI
import Logging
import NIOCore
import ServiceLifecycle

/// `GET /metrics` of `settle worker` (only with `WORKER_METRICS_PORT`): the worker's runs
/// (`settle_worker_runs_total`, `settle_worker_run_duration_seconds`,
/// `settle_worker_last_success_timestamp_seconds`) in Prometheus' text format, from the same
/// registry `settle serve` uses.
enum WorkerMetricsServer {
    static func application(host: String, port: Int, logger: Logger) -> some Service {
        let metrics = APIMetrics.shared
        let router = Router()
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "settle-worker"),
            onServerRunning: { channel in
                logger.notice("serving the worker's metrics", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            }, logger: logger)
    }
}
