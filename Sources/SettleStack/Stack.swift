import CardMock
import DevChain
import Foundation
import Ledger
import LedgerAPI
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Everything an agent pays on one machine, with no network: the ERC-20 dev chain, the Tempo dev
/// chain, the card processor mock, the ledger API, and the merchant server (paid route with every
/// offer, the MCP tool, the x402 facilitator) with the rails that book its payments. `settle sandbox`
/// serves it until a signal; `settle demo` drives agents and faults through it, then stops it.
public struct Stack: Sendable {
    public var configuration: StackConfiguration
    public var logger: Logger

    public init(configuration: StackConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs every part, calls `body` once all of them serve, and stops them all when `body` returns.
    ///
    /// One service group holds the parts, the merchant last: a graceful shutdown (the command's
    /// signal, which this group inherits) stops them in reverse order, so the merchant stops while the
    /// database pool, the chains and the mock it uses are still there. `body` must return on a
    /// graceful shutdown (`gracefulShutdown()` returns then).
    ///
    /// - Parameters:
    ///   - url: the database; migrated first when `embedded`, else it must be current.
    /// - Returns: what `body` returned, or nil when the stack was stopped before it served.
    public func run<T: Sendable>(
        database url: DatabaseURL, embedded: Bool, _ body: @escaping @Sendable (RunningStack) async throws -> T
    ) async throws -> T? {
        let (configuration, logger) = (configuration, logger)
        logger.notice("database ready; starting the chain, the card processor mock and the ledger API")
        // The chain: blocks every second, and at once on each transaction so a payment is quick.
        let chain = try DevChain(
            configuration: DevChainConfiguration(port: configuration.chainPort, blockTime: .seconds(1), automine: true))
        let (chainPorts, chainSink) = AsyncStream.makeStream(of: Int.self)
        let chainApp = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { chainSink.yield(DevChainServer.boundPort($0) ?? 0) })
        // The Tempo chain: 0.5 s blocks, as Tempo; its clients wait with eth_sendRawTransactionSync.
        let tempo = try DevChain(configuration: .tempo(port: configuration.tempoPort))
        let (tempoPorts, tempoSink) = AsyncStream.makeStream(of: Int.self)
        let tempoApp = DevChainServer.application(
            chain: tempo, logger: logger, onServerRunning: { tempoSink.yield(DevChainServer.boundPort($0) ?? 0) })
        let (mockPorts, mockSink) = AsyncStream.makeStream(of: Int.self)
        let mockConfiguration = CardMockConfiguration(port: configuration.cardmockPort, dataDirectory: configuration.cardmockDirectory)
        try await cancelWhenGracefulShutdown { try await CardMockServer.waitForDataDirectory(of: mockConfiguration, logger: logger) }
        let mockApp = try CardMockServer.application(
            configuration: mockConfiguration, logger: logger,
            onServerRunning: { mockSink.yield(CardMockServer.boundPort($0) ?? 0) })

        let client = PostgresClient(configuration: try url.clientConfiguration(connections: 12), backgroundLogger: logger)
        let ledger = PostgresLedger(client: client, logger: logger)
        let (apiPorts, apiSink) = AsyncStream.makeStream(of: Int.self)
        let apiApp = APIServer.application(
            client: client, configuration: ServerConfiguration(port: configuration.apiPort, databaseConnections: 12), logger: logger,
            beforeServing: { ledger in
                if embedded {
                    _ = try await ledger.migrate()
                } else if try await !ledger.schemaIsCurrent() {
                    throw LedgerError(.schemaOutdated, "the database schema is not current: run `settle migrate`")
                }
            },
            onServerRunning: { apiSink.yield($0.localAddress?.port ?? 0) })
        let result = ResultBox<T>()
        let merchant = ClosureService {
            let ports = try? await cancelWhenGracefulShutdown { () -> (Int, Int, Int, Int)? in
                guard let rpcPort = await chainPorts.first(where: { _ in true }),
                    let tempoPort = await tempoPorts.first(where: { _ in true }),
                    let mockPort = await mockPorts.first(where: { _ in true }),
                    let ledgerPort = await apiPorts.first(where: { _ in true })
                else { return nil }
                return (rpcPort, tempoPort, mockPort, ledgerPort)
            }
            guard let ports else {
                // Stopped before the parts were up: end normally, so that the group goes on with its
                // graceful shutdown of the parts rather than cancelling them half-started.
                if Task.isShuttingDownGracefully { return }
                throw StackError(.notStarted, "a service did not start")
            }
            logger.notice("setting up the merchant")
            let parts = MerchantParts(
                configuration: configuration, chain: chain, rpcURL: "http://127.0.0.1:\(ports.0)", tempo: tempo,
                tempoURL: "http://127.0.0.1:\(ports.1)", cardmockURL: "http://127.0.0.1:\(ports.2)",
                ledgerURL: "http://127.0.0.1:\(ports.3)", ledger: ledger, logger: logger)
            try await parts.serve { running in
                let value = try await body(running)
                result.value.withLock { $0 = value }
            }
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: chainApp), .init(service: tempoApp), .init(service: mockApp), .init(service: apiApp),
                    .init(service: merchant, successTerminationBehavior: .gracefullyShutdownGroup),
                ], logger: logger))
        try await group.run()
        return result.value.withLock { $0 }
    }

    /// The value of the body, handed from the merchant's task to the caller.
    private final class ResultBox<T: Sendable>: Sendable {
        let value = Mutex<T?>(nil)
    }
}
