import Testing

@testable import HTTPLoad

@Suite struct LoadReportTests {
    @Test func percentilesUseNearestRank() {
        let report = LoadReport(
            completed: 1000, failed: 0, statusCounts: [200: 1000], transportErrors: 0, reconnects: 0,
            elapsed: .seconds(2), sortedLatencies: Array(1...1000))
        #expect(report.min == .nanoseconds(1))
        #expect(report.p50 == .nanoseconds(500))
        #expect(report.p90 == .nanoseconds(900))
        #expect(report.p99 == .nanoseconds(990))
        #expect(report.p999 == .nanoseconds(999))
        #expect(report.max == .nanoseconds(1000))
        #expect(report.latency(percentile: 0.05) == .nanoseconds(1))
        #expect(report.latency(percentile: 150) == .nanoseconds(1000))
        #expect(report.throughput == 500)
    }

    @Test func mergesConnections() {
        var first = ConnectionStats()
        first.completed = 2
        first.latencies = [30, 10]
        first.countStatus(200)
        first.countStatus(503)
        var second = ConnectionStats()
        second.completed = 1
        second.failed = 1
        second.transportErrors = 3
        second.latencies = [20]
        second.countStatus(503)
        let report = LoadReport(stats: [first, second], elapsed: .seconds(1))
        #expect(report.completed == 3)
        #expect(report.failed == 1)
        #expect(report.transportErrors == 3)
        #expect(report.statusCounts == [200: 1, 503: 2])
        #expect(report.min == .nanoseconds(10))
        #expect(report.p50 == .nanoseconds(20))
        #expect(report.max == .nanoseconds(30))
    }

    @Test func emptyReportHasZeroLatency() {
        let report = LoadReport(stats: [], elapsed: .zero)
        #expect(report.p99 == .zero)
        #expect(report.throughput == 0)
    }
}
