import HTTPTypes
import Hummingbird
import NIOCore

extension ResponseBody {
    /// The whole body in one buffer, for a payment middleware that must hold content back until it
    /// is paid for, or merge documents.
    /// - Throws: ``ResponseTooLarge`` past `limit` bytes, rather than buffering without bound.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        let sink = CollectedBody(limit: limit)
        try await write(CollectingWriter(sink: sink))
        return sink.buffer
    }
}

/// A response body larger than a middleware buffers.
public struct ResponseTooLarge: Error, CustomStringConvertible {
    public var limit: Int
    public var description: String { "the response is larger than \(limit) bytes" }
}

/// Written by one writer, read after its last write: never shared concurrently.
private final class CollectedBody: @unchecked Sendable {
    var buffer = ByteBuffer()
    let limit: Int
    init(limit: Int) { self.limit = limit }
}

private struct CollectingWriter: ResponseBodyWriter {
    let sink: CollectedBody

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard sink.buffer.readableBytes + buffer.readableBytes <= sink.limit else { throw ResponseTooLarge(limit: sink.limit) }
        var copy = buffer
        sink.buffer.writeBuffer(&copy)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
