import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A JSON-RPC server on 127.0.0.1 for the client's tests: answers each call as `respond` says and
/// records what it received.
final class RPCStubServer: Sendable {
    /// How the stub answers one HTTP request.
    enum Reply: Sendable {
        /// `{"jsonrpc":"2.0","id":<request id>,"result":<json>}`.
        case result(String)
        /// `{"jsonrpc":"2.0","id":<request id>,"error":{…}}`; `data` is raw JSON when given.
        case error(code: Int, message: String, data: String?)
        /// A raw HTTP status and body.
        case http(status: Int, body: String)
        /// The same reply, sent after a delay.
        indirect case delayed(milliseconds: Int64, Reply)
    }

    struct Received: Sendable {
        var method: String
        /// The `params` member re-serialised with sorted keys.
        var params: String
    }

    private final class Log: Sendable {
        let entries = Mutex<[Received]>([])
    }

    private let channel: any Channel
    private let log: Log
    let port: Int

    var url: String { "http://127.0.0.1:\(port)/" }
    var received: [Received] { log.entries.withLock { $0 } }

    /// - Parameter respond: Given the method and how many calls of that method came before, the reply.
    static func start(_ respond: @escaping @Sendable (_ method: String, _ attempt: Int) -> Reply) async throws -> RPCStubServer {
        let log = Log()
        let handle: @Sendable (ByteBuffer) -> (Int, String, Int64) = { body in
            let json = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            let method = json["method"] as? String ?? ""
            let params =
                (try? JSONSerialization.data(withJSONObject: json["params"] ?? [], options: [.sortedKeys, .withoutEscapingSlashes]))
                .map { String(decoding: $0, as: UTF8.self) } ?? ""
            let idData =
                (try? JSONSerialization.data(withJSONObject: json["id"] ?? NSNull(), options: [.fragmentsAllowed])) ?? Data("null".utf8)
            let id = String(decoding: idData, as: UTF8.self)
            let attempt = log.entries.withLock { entries in
                let previous = entries.filter { $0.method == method }.count
                entries.append(Received(method: method, params: params))
                return previous
            }
            var reply = respond(method, attempt)
            var delay: Int64 = 0
            while case .delayed(let milliseconds, let inner) = reply {
                delay += milliseconds
                reply = inner
            }
            switch reply {
            case .result(let result):
                return (200, #"{"jsonrpc":"2.0","id":\#(id),"result":\#(result)}"#, delay)
            case .error(let code, let message, let data):
                let messageJSON = String(
                    decoding: try! JSONSerialization.data(withJSONObject: message, options: [.fragmentsAllowed]), as: UTF8.self)
                let dataMember = data.map { #","data":\#($0)"# } ?? ""
                return (200, #"{"jsonrpc":"2.0","id":\#(id),"error":{"code":\#(code),"message":\#(messageJSON)\#(dataMember)}}"#, delay)
            case .http(let status, let body):
                return (status, body, delay)
            case .delayed:
                fatalError("unreachable")
            }
        }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(handle: handle))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RPCStubServer(channel: channel, log: log)
    }

    private init(channel: any Channel, log: Log) {
        self.channel = channel
        self.port = channel.localAddress!.port!
        self.log = log
    }

    func shutdown() async throws {
        try await channel.close()
    }

    /// Runs `body` with a started server and always shuts it down.
    static func with(
        _ respond: @escaping @Sendable (_ method: String, _ attempt: Int) -> Reply, _ body: (RPCStubServer) async throws -> Void
    ) async throws {
        let server = try await start(respond)
        do {
            try await body(server)
            try await server.shutdown()
        } catch {
            try? await server.shutdown()
            throw error
        }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let handle: @Sendable (ByteBuffer) -> (Int, String, Int64)
        var body = ByteBuffer()

        init(handle: @escaping @Sendable (ByteBuffer) -> (Int, String, Int64)) { self.handle = handle }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head:
                body.clear()
            case .body(var chunk):
                body.writeBuffer(&chunk)
            case .end:
                let (status, text, delay) = handle(body)
                let write = {
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/json")
                    headers.add(name: "Content-Length", value: String(text.utf8.count))
                    let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
                    context.write(self.wrapOutboundOut(.head(head)), promise: nil)
                    context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                    context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                }
                if delay > 0 {
                    context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(delay)) { write() }
                } else {
                    write()
                }
            }
        }
    }
}
