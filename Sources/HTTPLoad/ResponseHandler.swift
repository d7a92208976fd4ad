import NIOCore
import NIOHTTP1

/// The last handler of a connection's pipeline: hands decoded response parts to its ``Connection``.
///
/// It also owns the pipeline's `HTTPResponseDecoder` reference, because the connection must tell the
/// decoder about each request it writes (see ``Connection``).
final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    /// The decoder in front of this handler.
    let decoder: HTTPResponseDecoder
    private let connection: Connection

    init(decoder: HTTPResponseDecoder, connection: Connection) {
        self.decoder = decoder
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            connection.responseHead(status: Int(head.status.code), keepAlive: head.isKeepAlive)
        case .body(let part):
            connection.responseBody(part)
        case .end:
            connection.responseEnd()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.channelClosed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A parse error or a reset leaves the connection unusable; closing it lets `channelInactive`
        // account for the lost request and reconnect.
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ResponseHandler: Sendable {}
