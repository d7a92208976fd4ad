import NIOCore

/// Writes a ``LoadRequest`` as raw HTTP/1.1 bytes.
///
/// Hand-written instead of going through `HTTPRequestEncoder` because that path builds an
/// `HTTPRequestHead` with boxed `HTTPHeaders` and a fresh buffer for every request; here the caller's
/// buffer is cleared and reused, so a steady run allocates nothing per request for encoding.
enum RequestEncoder {
    /// Replaces the contents of `buffer` with `request`.
    /// - Parameters:
    ///   - request: The request to encode.
    ///   - hostHeader: The `Host` value to send when the request has none of its own.
    ///   - buffer: The buffer to fill; cleared first so its storage is reused once the previous write
    ///     has released it.
    static func encode(_ request: LoadRequest, hostHeader: String, into buffer: inout ByteBuffer) {
        buffer.clear()
        buffer.writeString(request.method)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(request.path)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        var hasHost = false
        for (name, value) in request.headers {
            // The body length is ours to state: a stale copy from the caller would desynchronise the
            // connection, so it is dropped rather than sent twice.
            if equalsIgnoringASCIICase(name, "content-length") { continue }
            if !hasHost && equalsIgnoringASCIICase(name, "host") { hasHost = true }
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        if !hasHost {
            buffer.writeStaticString("Host: ")
            buffer.writeString(hostHeader)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("Content-Length: ")
        // Small decimal strings are stored inline, so this does not allocate.
        buffer.writeString(String(request.body.count))
        buffer.writeStaticString("\r\n\r\n")
        buffer.writeBytes(request.body)
    }

    /// The `Host` header value for a server: IPv6 literals need brackets to keep the port apart.
    static func hostHeader(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Compares a header name with a lowercase ASCII token without building a lowercased copy.
    private static func equalsIgnoringASCIICase(_ name: String, _ lowercaseToken: StaticString) -> Bool {
        let token = UnsafeBufferPointer(start: lowercaseToken.utf8Start, count: lowercaseToken.utf8CodeUnitCount)
        guard name.utf8.count == token.count else { return false }
        return name.utf8.elementsEqual(token) { byte, expected in
            let lowered = (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
            return lowered == expected
        }
    }
}
