import NIOCore
import NIOHTTP1

/// Answers requests for ``TestServer``; see there for the routes.
final class TestServerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let closing: TestServer.Closing
    private let onRequest: @Sendable () -> Void
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(closing: TestServer.Closing, onRequest: @escaping @Sendable () -> Void) {
        self.closing = closing
        self.onRequest = onRequest
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            onRequest()
            if let head {
                respond(context: context, to: head)
            }
        }
    }

    private func respond(context: ChannelHandlerContext, to request: HTTPRequestHead) {
        let status: HTTPResponseStatus
        var chunks: [String]
        switch request.uri {
        case _ where request.headers["Host"].isEmpty:
            status = .badRequest
            chunks = ["no host"]
        case "/fail":
            status = .internalServerError
            chunks = ["fail"]
        case "/echo":
            status = .ok
            chunks = [String(buffer: body)]
        case "/chunked":
            status = .ok
            chunks = ["ch", "unk", "ed"]
        case "/hang":
            return
        default:
            status = .ok
            chunks = ["ok"]
        }
        var headers = HTTPHeaders()
        if chunks.count == 1 {
            headers.add(name: "Content-Length", value: String(chunks[0].utf8.count))
        } else {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        }
        if closing == .announced {
            headers.add(name: "Connection", value: "close")
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        // A response to HEAD announces a length but carries no body; a client that does not know the
        // method would wait for one and misread the next response.
        for chunk in chunks where request.method != .HEAD {
            // Flushed one by one so a chunked body really reaches the client in several reads.
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: chunk)))), promise: nil)
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        if closing != .never {
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
