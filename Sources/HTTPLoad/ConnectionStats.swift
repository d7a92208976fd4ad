/// What one connection measured; merged into a ``LoadReport`` at the end of a run.
struct ConnectionStats: Sendable {
    /// Responses received while measuring, whatever their status.
    var completed = 0
    /// Responses that failed the check.
    var failed = 0
    /// Requests that got no response because of the transport.
    var transportErrors = 0
    /// Connections opened after the first one.
    var reconnects = 0
    /// Latencies of the measured responses in nanoseconds, in arrival order.
    var latencies: [UInt64] = []
    /// Response counts indexed by status code; an array instead of a dictionary because it is bumped
    /// once per response and the parser only yields three-digit codes.
    var statusCounts = [Int](repeating: 0, count: 1000)

    mutating func countStatus(_ status: Int) {
        if statusCounts.indices.contains(status) {
            statusCounts[status] += 1
        }
    }
}
