import Hummingbird
import NIOCore
import X402

extension Stack {
    /// `/paid/tokens`' answer: the joke as a completion, charged per word ("token") through
    /// x402 upto's `Settlement-Overrides`, at most the route's signed maximum.
    static func tokensAnswer(pricePerToken: UInt64) -> Response {
        let tokens = UInt64(joke.split(separator: " ").count)
        let charged = tokens * pricePerToken
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", .settlementOverrides: #"{"amount":"\#(charged)"}"#],
            body: .init(byteBuffer: ByteBuffer(string: #"{"completion":"\#(joke)","tokens":\#(tokens),"charged":"\#(charged)"}"#)))
    }
}
