import EVM
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The dev chain's JSON-RPC server: HTTP POST of JSON-RPC 2.0 (single calls and batches) on `/`,
/// plus the block timer.
///
/// Run it in-process (tests, `settle sandbox`) or through `settle devchain`:
///
/// ```swift
/// let chain = try DevChain(configuration: .init(port: 0, blockTime: .zero, automine: true))
/// let app = DevChainServer.application(chain: chain, logger: logger,
///     onServerRunning: { channel in print(DevChainServer.boundPort(channel)!) })
/// try await app.runService()   // or put it in a ServiceGroup
/// ```
///
/// Keep the ``DevChain`` to drive it directly (faucet, reorgs, mining) while clients use RPC.
public enum DevChainServer {
    /// Larger request bodies are refused with HTTP 413.
    public static let maxBodyBytes = 16 << 20

    /// Builds the application serving `chain` on the configuration's host and port.
    /// - Parameter onServerRunning: called with the bound channel (its port when the configured port is 0).
    public static func application(
        chain: DevChain, logger: Logger, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let rpc = DevChainRPC(chain: chain)
        let router = Router(context: BasicRequestContext.self)
        router.post("/") { request, _ -> Response in
            let body = try await request.body.collect(upTo: maxBodyBytes)
            guard let answer = await rpc.handle(body.readableBytesView) else { return Response(status: .noContent) }
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: answer)))
        }
        router.get("/health") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        let configuration = chain.configuration
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "settle-devchain"),
            services: [DevChainMiner(chain: chain, logger: logger)],
            onServerRunning: onServerRunning,
            logger: logger)
    }

    /// The port a running server's channel is bound to (what `onServerRunning` receives).
    public static func boundPort(_ channel: any Channel) -> Int? {
        channel.localAddress?.port
    }

    /// What `eth_getCode` returns for a token: non-empty (clients such as the x402 facilitator
    /// check that the asset is a contract), `PUSH1 0 DUP1 REVERT`, since the token is native.
    static let tokenCodeMarker: [UInt8] = [0x60, 0x00, 0x80, 0xfd]

    /// ``DevChainInfo`` as a JSON-RPC value.
    static func info(_ configuration: DevChainConfiguration, rpcURL: String?) -> RPCValue {
        let info = DevChainInfo(configuration: configuration, rpcURL: rpcURL)
        guard let data = try? JSONEncoder().encode(info), let value = try? JSONDecoder().decode(RPCValue.self, from: data) else {
            return .null
        }
        return value
    }
}
