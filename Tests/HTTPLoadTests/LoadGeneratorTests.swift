import HTTPLoad
import NIOCore
import SettleTesting
import Testing

// A broken generator tends to hang rather than crash; the limit turns that into a failure.
@Suite(.timeLimit(.minutes(1))) struct LoadGeneratorTests {
    @Test func keepAliveRunCountsEveryResponse() async throws {
        let server = try await TestServer.start()
        let generator = LoadGenerator(host: "127.0.0.1", port: server.port, connections: 8)
        // Indexes run on from the warm-up, so measured indexes are 5...204: 20 of them per connection
        // are multiples of 10.
        let report = try await generator.run(requestsPerConnection: 200, warmupPerConnection: 5) { _, index in
            LoadRequest(path: index % 10 == 0 ? "/fail" : "/")
        }
        try await server.stop()

        #expect(report.completed == 1600)
        #expect(report.statusCounts == [200: 1440, 500: 160])
        #expect(report.failed == 160)
        #expect(report.transportErrors == 0)
        #expect(report.reconnects == 0)
        #expect(server.requests == 1600 + 8 * 5)
        #expect(report.min > .zero)
        #expect(report.min <= report.p50)
        #expect(report.p50 <= report.p90)
        #expect(report.p90 <= report.p99)
        #expect(report.p99 <= report.p999)
        #expect(report.p999 <= report.max)
        #expect(report.latency(percentile: 50) == report.p50)
        #expect(report.elapsed > .zero)
        #expect(report.throughput > 0)
    }

    @Test func checkSeesStatusAndWholeBody() async throws {
        let server = try await TestServer.start()
        let generator = LoadGenerator(host: "127.0.0.1", port: server.port, connections: 8)
        // Every third request echoes a body the check rejects; the rest come back chunked.
        let report = try await generator.run(
            requestsPerConnection: 200,
            makeRequest: { _, index in
                index % 3 == 0
                    ? LoadRequest(method: "POST", path: "/echo", headers: [("Content-Length", "999")], body: Array("no".utf8))
                    : LoadRequest(path: "/chunked")
            },
            check: { status, body in status == 200 && String(buffer: body) == "chunked" }
        )
        try await server.stop()

        #expect(report.completed == 1600)
        #expect(report.statusCounts == [200: 1600])
        #expect(report.failed == 8 * 67)
        #expect(report.transportErrors == 0)
    }

    @Test func headResponsesHaveNoBody() async throws {
        let server = try await TestServer.start()
        // A client that expects a body after HEAD hangs until the timeout, so keep it short.
        let generator = LoadGenerator(host: "127.0.0.1", port: server.port, connections: 8, requestTimeout: .seconds(1))
        let report = try await generator.run(
            requestsPerConnection: 20,
            makeRequest: { _, index in LoadRequest(method: index % 2 == 0 ? "HEAD" : "GET", path: "/") },
            check: { status, body in status == 200 && body.readableBytes <= 2 }
        )
        try await server.stop()

        #expect(report.completed == 160)
        #expect(report.statusCounts == [200: 160])
        #expect(report.failed == 0)
        #expect(report.transportErrors == 0)
    }

    @Test func reconnectsWhenServerAnnouncesClose() async throws {
        let server = try await TestServer.start(closing: .announced)
        let generator = LoadGenerator(host: "127.0.0.1", port: server.port, connections: 8)
        let report = try await generator.run(requestsPerConnection: 200) { _, _ in LoadRequest(path: "/") }
        try await server.stop()

        #expect(report.completed == 1600)
        #expect(report.statusCounts == [200: 1600])
        #expect(report.transportErrors == 0)
        // The first request of each connection uses the connection opened before measuring.
        #expect(report.reconnects == 8 * 199)
    }

    @Test func countsRequestsLostToSilentCloses() async throws {
        let server = try await TestServer.start(closing: .silently)
        let generator = LoadGenerator(host: "127.0.0.1", port: server.port, connections: 8)
        let report = try await generator.run(requestsPerConnection: 200) { _, _ in LoadRequest(path: "/") }
        try await server.stop()

        #expect(report.completed + report.transportErrors == 1600)
        #expect(report.completed > 0)
        #expect(report.transportErrors > 0)
        #expect(report.reconnects > 0)
        #expect(report.failed == 0)
    }

    @Test func unansweredRequestsTimeOut() async throws {
        let server = try await TestServer.start()
        let generator = LoadGenerator(
            host: "127.0.0.1", port: server.port, connections: 2, requestTimeout: .milliseconds(100))
        let report = try await generator.run(requestsPerConnection: 2) { _, _ in LoadRequest(path: "/hang") }
        try await server.stop()

        #expect(report.completed == 0)
        #expect(report.transportErrors == 4)
        #expect(report.elapsed >= .milliseconds(200))
        #expect(report.p50 == .zero)
    }

    @Test func failsWhenNothingListens() async throws {
        let reserved = try LoopbackListener(listening: false)
        defer { reserved.close() }
        let port = reserved.port

        let error = await #expect(throws: LoadError.self) {
            try await LoadGenerator(host: "127.0.0.1", port: port, connections: 4)
                .run(requestsPerConnection: 1) { _, _ in LoadRequest(path: "/") }
        }
        #expect(error?.code == .connectionFailed)
    }

    @Test func rejectsInvalidArguments() async throws {
        let error = await #expect(throws: LoadError.self) {
            try await LoadGenerator(host: "127.0.0.1", port: 1, connections: 0)
                .run(requestsPerConnection: 1) { _, _ in LoadRequest(path: "/") }
        }
        #expect(error?.code == .invalidArgument)
    }
}
