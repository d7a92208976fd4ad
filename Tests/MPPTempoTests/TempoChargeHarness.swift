import AsyncHTTPClient
import DevChain
import EVM
import Foundation
import Hummingbird
import Ledger
import Logging
import MPP
import MPPTempo
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Paywall
import RailKit
import ServiceLifecycle
import SettleTesting
import Synchronization

/// A Tempo dev chain (a chain id of its own, so its ledger assets meet no other suite's), a ledger
/// on the test database and a Hummingbird app charging with `tempo/charge`: `/paid` (0.25 pathUSD),
/// `/sponsored` (0.5, fee sponsored by the server), `/split` (1.0, 0.1 of it to a second
/// recipient), `/twin` (0.25, another route).
final class TempoChargeHarness: Sendable {
    static let logger: Logger = {
        var logger = Logger(label: "mpp-tempo-tests")
        logger.logLevel = .critical
        return logger
    }()
    static let pathUSD = TokenConfiguration.pathUSD.address
    static let realm = "127.0.0.1"

    let chainID: UInt64
    let chainURL: String
    let rpc: EthereumRPC
    let ledger: PostgresLedger
    let merchant: AccountID
    let recipient: Address
    let splitRecipient: Address
    let feePayer: PrivateKey
    let asset: AssetID
    let url: String
    private let services: [(ServiceGroup, Task<Void, any Error>)]

    private init(
        chainID: UInt64, chainURL: String, rpc: EthereumRPC, ledger: PostgresLedger, merchant: AccountID, recipient: Address,
        splitRecipient: Address, feePayer: PrivateKey, asset: AssetID, url: String, services: [(ServiceGroup, Task<Void, any Error>)]
    ) {
        self.chainID = chainID
        self.chainURL = chainURL
        self.rpc = rpc
        self.ledger = ledger
        self.merchant = merchant
        self.recipient = recipient
        self.splitRecipient = splitRecipient
        self.feePayer = feePayer
        self.asset = asset
        self.url = url
        self.services = services
    }

    static func with<T>(_ body: (TempoChargeHarness) async throws -> T) async throws -> T {
        let harness = try await start()
        do {
            let result = try await body(harness)
            await harness.stop()
            return result
        } catch {
            await harness.stop()
            throw error
        }
    }

    /// Runs `service` in a group of its own and waits for the port it reports.
    static func run(_ service: some Service, ports: AsyncStream<Int>) async throws -> (Int, (ServiceGroup, Task<Void, any Error>)) {
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            await group.triggerGracefulShutdown()
            throw TestFailure("a test server did not start")
        }
        return (port, (group, task))
    }

    static func start() async throws -> TempoChargeHarness {
        let chainID = UInt64.random(in: 1_000_000...9_000_000)
        var configuration = DevChainConfiguration.tempo(port: 0, chainID: chainID)
        // Timer-mined, as Tempo's blocks: eth_sendRawTransactionSync has to wait for inclusion.
        configuration.blockTime = .milliseconds(50)
        let chain = try DevChain(configuration: configuration)
        let (chainPorts, chainSink) = AsyncStream.makeStream(of: Int.self)
        let chainApp = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { chainSink.yield(DevChainServer.boundPort($0) ?? 0) })

        let ledger = try await TestDatabase.ledger()
        let tag = String(chainID, radix: 36)
        let merchant = try AccountID("merchant:mpp-tempo:\(tag)")
        let recipient = PrivateKey.random().address
        let splitRecipient = PrivateKey.random().address
        let feePayer = PrivateKey.random()
        let asset = try AssetID("pathusd-\(tag)")
        let network = "eip155:\(chainID)"
        let (chainPort, chainService) = try await run(chainApp, ports: chainPorts)
        let chainURL = "http://127.0.0.1:\(chainPort)"
        let rpc = EthereumRPC(url: chainURL, configuration: .init(timeout: HangGuard.duration, maxAttempts: 1))
        _ = try await rpc.request("tempo_fundAddress", [.string(feePayer.address.lowercased)], as: RPCValue.self)

        let method = TempoChargeMethod(
            configuration: TempoChargeConfiguration(
                chainID: chainID, rpc: rpc,
                currencies: [
                    pathUSD: Asset(id: asset, code: "pathUSD", scale: 6, rail: "tempo", network: network, token: pathUSD.lowercased)
                ],
                feePayer: feePayer, booker: RailBooker(ledger: ledger), railID: "mpp-tempo-\(tag)", logger: logger))
        let server = MPPServer(
            configuration: MPPServerConfiguration(
                realm: realm, secrets: try ChallengeSecrets(["mpp-tempo-tests-secret-of-32-bytes-or-more"])),
            proofs: MPPProofStore(client: ledger.client, logger: logger))
        func route(_ path: String, _ charge: TempoCharge) throws -> MPPRoute {
            MPPRoute(path: path, offers: [try method.offer(charge)], merchantAccount: merchant.rawValue)
        }
        let routes = [
            try route("/paid", TempoCharge(amount: 250_000, currency: pathUSD, recipient: recipient)),
            try route("/twin", TempoCharge(amount: 250_000, currency: pathUSD, recipient: recipient)),
            try route("/sponsored", TempoCharge(amount: 500_000, currency: pathUSD, recipient: recipient, feePayer: true)),
            try route(
                "/split",
                TempoCharge(
                    amount: 1_000_000, currency: pathUSD, recipient: recipient,
                    splits: [TempoCharge.Split(amount: 100_000, recipient: splitRecipient)])),
        ]
        let router = Router(context: BasicRequestContext.self)
        MCPRoutes.add(
            to: router, path: "/mcp",
            server: MCPPaymentServer(
                server: server,
                tools: [
                    MCPTool(
                        name: "joke", description: "A joke about ledgers, 0.25 pathUSD",
                        route: try route("", TempoCharge(amount: 250_000, currency: pathUSD, recipient: recipient))
                    ) { _ in [.object(["type": .string("text"), "text": .string("two entries walk into a bar")])] }
                ]))
        let paid = router.group().add(middleware: MPPMiddleware<BasicRequestContext>(server: server, routes: routes))
        for path in ["/paid", "/twin", "/sponsored", "/split"] { paid.get(RouterPath(path)) { _, _ in "content of \(path)" } }
        let (appPorts, appSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: CanonicalPaths(router), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { appSink.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let (appPort, appService) = try await run(app, ports: appPorts)
        return TempoChargeHarness(
            chainID: chainID, chainURL: chainURL, rpc: rpc, ledger: ledger, merchant: merchant, recipient: recipient,
            splitRecipient: splitRecipient, feePayer: feePayer, asset: asset, url: "http://127.0.0.1:\(appPort)",
            services: [appService, chainService])
    }

    func stop() async {
        for (group, task) in services {
            await group.triggerGracefulShutdown()
            try? await task.value
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
