import NIOCore
import Testing

@testable import HTTPLoad

@Suite struct RequestEncoderTests {
    @Test func addsHostAndLength() {
        var buffer = ByteBuffer()
        RequestEncoder.encode(
            LoadRequest(method: "POST", path: "/v1/x", headers: [("X-A", "1")], body: Array("hey".utf8)),
            hostHeader: "127.0.0.1:80", into: &buffer)
        #expect(String(buffer: buffer) == "POST /v1/x HTTP/1.1\r\nX-A: 1\r\nHost: 127.0.0.1:80\r\nContent-Length: 3\r\n\r\nhey")
    }

    @Test func keepsCallersHostAndDropsCallersLength() {
        var buffer = ByteBuffer(string: "left over")
        RequestEncoder.encode(
            LoadRequest(path: "/", headers: [("HOST", "example"), ("content-LENGTH", "7")]),
            hostHeader: "ignored:1", into: &buffer)
        #expect(String(buffer: buffer) == "GET / HTTP/1.1\r\nHOST: example\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func bracketsIPv6Hosts() {
        #expect(RequestEncoder.hostHeader(host: "::1", port: 8080) == "[::1]:8080")
        #expect(RequestEncoder.hostHeader(host: "localhost", port: 8080) == "localhost:8080")
    }
}
