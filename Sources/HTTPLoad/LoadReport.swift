/// What a ``LoadGenerator`` run measured. Warm-up requests are not part of it.
public struct LoadReport: Sendable {
    /// Responses received, whatever their status; failed ones included.
    public let completed: Int
    /// Responses that failed the run's check (by default: a status outside 200–299).
    public let failed: Int
    /// Responses per HTTP status code.
    public let statusCounts: [Int: Int]
    /// Requests that got no response because the connection closed, reset, timed out or could not be
    /// reopened. `completed + transportErrors` is the number of requests the run was asked to send.
    public let transportErrors: Int
    /// Connections that had to be opened again after the server closed one.
    public let reconnects: Int
    /// Wall-clock time of the measured phase: from the moment every connection finished warming up to
    /// the last response.
    public let elapsed: Duration
    /// The fastest response.
    public let min: Duration
    /// The median latency.
    public let p50: Duration
    /// The 90th percentile latency.
    public let p90: Duration
    /// The 99th percentile latency.
    public let p99: Duration
    /// The 99.9th percentile latency.
    public let p999: Duration
    /// The slowest response.
    public let max: Duration

    // Every measured latency in nanoseconds, ascending; kept so any percentile is exact.
    private let sortedLatencies: [UInt64]

    init(stats: [ConnectionStats], elapsed: Duration) {
        var completed = 0
        var failed = 0
        var transportErrors = 0
        var reconnects = 0
        var statusArray = [Int](repeating: 0, count: 1000)
        var latencies: [UInt64] = []
        latencies.reserveCapacity(stats.reduce(0) { $0 + $1.latencies.count })
        for connection in stats {
            completed += connection.completed
            failed += connection.failed
            transportErrors += connection.transportErrors
            reconnects += connection.reconnects
            latencies.append(contentsOf: connection.latencies)
            for (status, count) in connection.statusCounts.enumerated() where count > 0 {
                statusArray[status] += count
            }
        }
        latencies.sort()
        var statusCounts: [Int: Int] = [:]
        for (status, count) in statusArray.enumerated() where count > 0 {
            statusCounts[status] = count
        }
        self.init(
            completed: completed, failed: failed, statusCounts: statusCounts, transportErrors: transportErrors,
            reconnects: reconnects, elapsed: elapsed, sortedLatencies: latencies)
    }

    init(
        completed: Int, failed: Int, statusCounts: [Int: Int], transportErrors: Int, reconnects: Int, elapsed: Duration,
        sortedLatencies: [UInt64]
    ) {
        self.completed = completed
        self.failed = failed
        self.statusCounts = statusCounts
        self.transportErrors = transportErrors
        self.reconnects = reconnects
        self.elapsed = elapsed
        self.sortedLatencies = sortedLatencies
        self.min = Self.percentile(0, of: sortedLatencies)
        self.p50 = Self.percentile(50, of: sortedLatencies)
        self.p90 = Self.percentile(90, of: sortedLatencies)
        self.p99 = Self.percentile(99, of: sortedLatencies)
        self.p999 = Self.percentile(99.9, of: sortedLatencies)
        self.max = Self.percentile(100, of: sortedLatencies)
    }

    /// Completed responses per second of ``elapsed``; 0 when nothing was measured.
    public var throughput: Double {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(completed) / seconds : 0
    }

    /// The exact latency at a percentile, by the nearest-rank method over all measured responses.
    /// - Parameter percentile: From 0 (the fastest response) to 100 (the slowest); clamped to that range.
    /// - Returns: The latency, or zero when no response was measured.
    public func latency(percentile: Double) -> Duration {
        Self.percentile(percentile, of: sortedLatencies)
    }

    private static func percentile(_ percentile: Double, of sorted: [UInt64]) -> Duration {
        guard !sorted.isEmpty else { return .zero }
        let clamped = Swift.min(Swift.max(percentile, 0), 100)
        // Nearest rank: the smallest sample that at least `percentile` percent of samples do not exceed.
        // The small slack keeps a decimal percentile such as 99.9, which is not exact in binary, from
        // rounding up to the next rank.
        let rank = Int((clamped * Double(sorted.count) / 100 - 1e-6).rounded(.up))
        let index = Swift.min(Swift.max(rank - 1, 0), sorted.count - 1)
        return .nanoseconds(Int64(clamp: sorted[index]))
    }
}

extension Int64 {
    fileprivate init(clamp value: UInt64) {
        self = value > UInt64(Int64.max) ? .max : Int64(value)
    }
}
