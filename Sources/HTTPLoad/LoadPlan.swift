import NIOCore

/// What every connection of a run shares: where to connect and what to send.
struct LoadPlan: Sendable {
    var address: SocketAddress
    var hostHeader: String
    var makeRequest: @Sendable (_ connection: Int, _ index: Int) -> LoadRequest
    /// `nil` means "any 2xx status passes", which needs no body, so bodies are then not collected.
    var check: (@Sendable (_ status: Int, _ body: ByteBuffer) -> Bool)?
    var requestTimeout: TimeAmount
    /// Consecutive failed connection attempts after which a connection gives up on its remaining requests.
    var maxConnectAttempts: Int
}
