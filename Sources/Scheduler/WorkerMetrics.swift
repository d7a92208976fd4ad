import Foundation
import Metrics

/// The worker's metrics (recorded through swift-metrics; exported by whatever backend the process
/// bootstraps).
enum WorkerMetrics {
    static func record(job: String, outcome: RunOutcome, elapsed: Duration) {
        Counter(label: "settle_worker_runs_total", dimensions: [("job", job), ("outcome", outcome.rawValue)]).increment()
        let (seconds, attoseconds) = elapsed.components
        Timer(label: "settle_worker_run_duration_seconds", dimensions: [("job", job)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if outcome == .succeeded {
            Gauge(label: "settle_worker_last_success_timestamp_seconds", dimensions: [("job", job)])
                .record(Date().timeIntervalSince1970)
        }
    }
}
