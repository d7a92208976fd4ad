import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny in-process HTTP/1.1 server for exercising the generator.
///
/// Routes: `/fail` answers 500, `/echo` echoes the request body, `/chunked` sends `chunked` in three
/// chunks, `/hang` never answers, anything else answers `ok`. A request without `Host` gets 400, so
/// a generator that forgets it shows up as failures.
final class TestServer: Sendable {
    /// How the server treats a connection after a response.
    enum Closing: Sendable {
        /// Keep the connection open for the next request.
        case never
        /// Send `Connection: close` and close.
        case announced
        /// Close without saying so, as a crashing or misbehaving server would.
        case silently
    }

    let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let counter: RequestCounter

    /// Requests the server has received so far.
    var requests: Int { counter.value.load(ordering: .relaxed) }

    private init(port: Int, group: MultiThreadedEventLoopGroup, channel: any Channel, counter: RequestCounter) {
        self.port = port
        self.group = group
        self.channel = channel
        self.counter = counter
    }

    static func start(closing: Closing = .never, threads: Int = 1) async throws -> TestServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let counter = RequestCounter()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        TestServerHandler(closing: closing) { counter.value.add(1, ordering: .relaxed) })
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return TestServer(port: channel.localAddress!.port!, group: group, channel: channel, counter: counter)
    }

    func stop() async throws {
        try await channel.close()
        try await group.shutdownGracefully()
    }
}

private final class RequestCounter: Sendable {
    let value = Atomic<Int>(0)
}
