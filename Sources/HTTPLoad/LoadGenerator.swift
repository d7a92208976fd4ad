import NIOCore
import NIOPosix

/// A closed-loop HTTP/1.1 load generator over persistent (keep-alive) connections.
///
/// Each of ``connections`` TCP connections sends one request, waits for the complete response, records
/// its latency and sends the next, so the offered load is whatever the server can answer with that many
/// requests outstanding. The client is built to be cheap: requests are encoded straight into a reused
/// buffer and responses are parsed by NIO's `HTTPResponseDecoder`, so most CPU is left to the server
/// under test.
///
/// ```swift
/// let generator = LoadGenerator(host: "127.0.0.1", port: 8080, connections: 64)
/// let health = LoadRequest(path: "/v1/health")
/// let report = try await generator.run(requestsPerConnection: 2_000, warmupPerConnection: 100) { _, _ in health }
/// print(report.throughput, report.p99)
/// ```
public struct LoadGenerator: Sendable {
    /// The server's host name or IP address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The number of concurrent connections, each with one request outstanding.
    public var connections: Int
    /// The number of event loop threads that drive the connections.
    public var threads: Int
    /// How long a request may wait for its response (and a connection attempt for the server) before
    /// its connection is closed and the request counted as a transport error.
    public var requestTimeout: Duration

    /// Creates a generator.
    /// - Parameters:
    ///   - host: The server's host name or IP address.
    ///   - port: The server's TCP port.
    ///   - connections: The number of concurrent connections.
    ///   - threads: The number of event loop threads; one is plenty for a local server on a small
    ///     machine and leaves the other cores to the server.
    ///   - requestTimeout: How long a request may go unanswered.
    public init(host: String, port: Int, connections: Int, threads: Int = 1, requestTimeout: Duration = .seconds(30)) {
        self.host = host
        self.port = port
        self.connections = connections
        self.threads = threads
        self.requestTimeout = requestTimeout
    }

    /// Runs the load and reports what was measured.
    ///
    /// Every connection first sends `warmupPerConnection` requests, which are not measured; the clock
    /// starts once all connections are done warming up, so ``LoadReport/elapsed`` and
    /// ``LoadReport/throughput`` cover the measured requests only. A connection the server closes is
    /// reopened; a request lost that way counts in ``LoadReport/transportErrors`` and is not retried
    /// (it may have had an effect on the server).
    ///
    /// - Parameters:
    ///   - requestsPerConnection: Measured requests each connection sends.
    ///   - warmupPerConnection: Unmeasured requests each connection sends first.
    ///   - makeRequest: Builds request number `index` of connection `connection`. Indexes count from 0
    ///     across warm-up and measured requests, so each pair is unique within a run (useful for
    ///     idempotency keys). Called on an event loop thread: keep it fast and non-blocking. Returning a
    ///     request built once outside the closure costs no allocation; building headers or a body per
    ///     call allocates their arrays.
    ///   - check: Decides whether a response succeeded; failures count in ``LoadReport/failed``. Called
    ///     on an event loop thread with the complete body. When `nil`, a response succeeds when its status
    ///     is 2xx, and bodies are not even collected.
    /// - Returns: The report of the measured phase.
    /// - Throws: ``LoadError`` when an argument is out of range, the host cannot be resolved, or not a
    ///   single connection can be opened.
    public func run(
        requestsPerConnection: Int,
        warmupPerConnection: Int = 0,
        makeRequest: @escaping @Sendable (_ connection: Int, _ index: Int) -> LoadRequest,
        check: (@Sendable (_ status: Int, _ body: ByteBuffer) -> Bool)? = nil
    ) async throws(LoadError) -> LoadReport {
        try validate(requestsPerConnection: requestsPerConnection, warmupPerConnection: warmupPerConnection)
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw LoadError(code: .addressResolutionFailed, message: "cannot resolve \(host):\(port): \(error)")
        }
        let plan = LoadPlan(
            address: address,
            hostHeader: RequestEncoder.hostHeader(host: host, port: port),
            makeRequest: makeRequest,
            check: check,
            requestTimeout: .nanoseconds(Self.nanoseconds(requestTimeout)),
            maxConnectAttempts: 5
        )
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let result: Result<LoadReport, LoadError>
        do {
            result = .success(
                try await drive(group: group, plan: plan, warmup: warmupPerConnection, requests: requestsPerConnection))
        } catch {
            result = .failure(error)
        }
        // Shutdown only fails when the group is already shut down; neither a report nor the error that
        // ended the run should be lost to that.
        try? await group.shutdownGracefully()
        return try result.get()
    }

    private func validate(requestsPerConnection: Int, warmupPerConnection: Int) throws(LoadError) {
        guard connections > 0 else {
            throw LoadError(code: .invalidArgument, message: "connections must be positive, got \(connections)")
        }
        guard threads > 0 else {
            throw LoadError(code: .invalidArgument, message: "threads must be positive, got \(threads)")
        }
        guard (0...65535).contains(port) else {
            throw LoadError(code: .invalidArgument, message: "port must be in 0...65535, got \(port)")
        }
        guard requestsPerConnection >= 0, warmupPerConnection >= 0 else {
            throw LoadError(code: .invalidArgument, message: "request counts must not be negative")
        }
        guard requestTimeout > .zero else {
            throw LoadError(code: .invalidArgument, message: "requestTimeout must be positive")
        }
    }

    private func drive(
        group: MultiThreadedEventLoopGroup, plan: LoadPlan, warmup: Int, requests: Int
    ) async throws(LoadError) -> LoadReport {
        let making = (0..<connections).map { id in ConnectionHandle.make(id: id, eventLoop: group.next(), plan: plan) }
        var handles: [ConnectionHandle] = []
        for future in making {
            handles.append(await complete(future))
        }

        // Opened all at once, awaited afterwards, so connecting takes one round trip rather than one each.
        let opening = handles.map { $0.open() }
        var opened = 0
        var lastError: (any Error)?
        for future in opening {
            do {
                try await future.get()
                opened += 1
            } catch {
                lastError = error
            }
        }
        guard opened > 0 else {
            _ = await finish(handles)
            throw LoadError(
                code: .connectionFailed,
                message: "cannot connect to \(host):\(port): \(lastError.map { "\($0)" } ?? "no connection attempted")")
        }

        if warmup > 0 {
            await runPhase(handles, requests: warmup, measuring: false)
        }
        let clock = ContinuousClock()
        let start = clock.now
        await runPhase(handles, requests: requests, measuring: true)
        let elapsed = start.duration(to: clock.now)
        return LoadReport(stats: await finish(handles), elapsed: elapsed)
    }

    private func runPhase(_ handles: [ConnectionHandle], requests: Int, measuring: Bool) async {
        let phases = handles.map { $0.runPhase(requests: requests, measuring: measuring) }
        for phase in phases {
            await complete(phase)
        }
    }

    private func finish(_ handles: [ConnectionHandle]) async -> [ConnectionStats] {
        let finishing = handles.map { $0.finish() }
        var stats: [ConnectionStats] = []
        for future in finishing {
            stats.append(await complete(future))
        }
        return stats
    }

    /// Awaits a future that cannot fail: these come from tasks on a running event loop whose promises are
    /// only ever succeeded.
    private func complete<Value: Sendable>(_ future: EventLoopFuture<Value>) async -> Value {
        do {
            return try await future.get()
        } catch {
            preconditionFailure("event loop task failed unexpectedly: \(error)")
        }
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
