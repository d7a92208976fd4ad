import AsyncHTTPClient
import DevChain
import EVM
import Foundation
import Hummingbird
import Ledger
import Logging
import MPP
import NIOCore
import NIOFoundationCompat
import Paywall
import PostgresNIO
import RailKit
import ServiceLifecycle
import SettleTesting
import Synchronization
import TempoRail
import Testing

@testable import MPPSession

/// A Tempo dev chain, a ledger with the Tempo rail installed, and Hummingbird apps paid with
/// `tempo/session` through ``MPPMiddleware``, all in process on 127.0.0.1. Each ``startServer()``
/// is a replica of its own (its own method and channel cache) on the same database and chain.
final class SessionHarness: Sendable {
    static let pathUSD = TokenConfiguration.pathUSD.address
    static let chainID: UInt64 = 42431
    static let price: EVM.UInt256 = 1_000
    static let logger: Logger = {
        var l = Logger(label: "mpp-session-tests")
        l.logLevel = .critical
        return l
    }()

    let chain: DevChain
    let rpc: EthereumRPC
    let ledger: PostgresLedger
    let rail: TempoRail
    let booker: RailBooker
    let payee: PrivateKey
    let asset: AssetID
    let merchant: AccountID
    let id: String
    let store: SessionStore
    let secrets: ChallengeSecrets
    /// The first request to a route named `/lost` after `loseNextAnswer` is set fails after the
    /// payment is taken, as if the server crashed before answering.
    let loseNextAnswer = Atomic<Bool>(false)
    private let services = Mutex<[(ServiceGroup, Task<Void, any Error>)]>([])

    private init(
        chain: DevChain, rpc: EthereumRPC, ledger: PostgresLedger, rail: TempoRail, booker: RailBooker, payee: PrivateKey, asset: AssetID,
        merchant: AccountID, id: String, store: SessionStore, secrets: ChallengeSecrets
    ) {
        self.chain = chain
        self.rpc = rpc
        self.ledger = ledger
        self.rail = rail
        self.booker = booker
        self.payee = payee
        self.asset = asset
        self.merchant = merchant
        self.id = id
        self.store = store
        self.secrets = secrets
    }

    /// Runs `body` on a fresh harness. Each harness books in a database of its own (the ledger's
    /// assets are unique per network and token, and every harness installs pathUSD on the Tempo
    /// dev chain's network), unless `ledger` is given.
    static func with<T: Sendable>(ledger: PostgresLedger? = nil, _ body: (SessionHarness) async throws -> T) async throws -> T {
        if let ledger { return try await run(ledger: ledger, body) }
        let database = try await TestDatabase.isolatedDatabase()
        do {
            let result = try await database.withClient(connections: 12, logger: logger) { client in
                let ledger = PostgresLedger(client: client, logger: logger)
                try await ledger.migrate()
                return try await run(ledger: ledger, body)
            }
            try await TestDatabase.dropIsolated(database)
            return result
        } catch {
            try? await TestDatabase.dropIsolated(database)
            throw error
        }
    }

    private static func run<T: Sendable>(ledger: PostgresLedger, _ body: (SessionHarness) async throws -> T) async throws -> T {
        var configuration = DevChainConfiguration.tempo(port: 0)
        configuration.blockTime = .zero
        configuration.automine = true
        let chain = try DevChain(configuration: configuration)
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { sink.yield(DevChainServer.boundPort($0) ?? 0) })
        let chainGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let chainTask = Task { try await chainGroup.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        let url = "http://127.0.0.1:\(port)"
        let rpc = EthereumRPC(url: url, configuration: .init(timeout: HangGuard.duration, maxAttempts: 1))
        let id = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let payee = PrivateKey.random()
        let _: RPCValue = try await rpc.request("tempo_fundAddress", [.string(payee.address.lowercased)])
        let asset = try AssetID("pathusd-mpps-\(id)")
        let rail = try TempoRail(
            configuration: RailConfiguration(
                id: "tempo-mpps-\(id)", kind: "tempo",
                settings: [
                    "rpc_url": .string(url), "network": .string("eip155:\(chainID)"),
                    "tokens": .array([.string("\(asset.rawValue)=\(pathUSD.checksummed)=pathUSD")]),
                    "addresses": .array([.string(payee.address.checksummed)]),
                ]), logger: logger)
        let booker = RailBooker(ledger: ledger)
        try await booker.install(rail.descriptor)
        let store = SessionStore(ledger: ledger, logger: logger)
        let storeGroup = ServiceGroup(configuration: .init(services: [store], logger: logger))
        let storeTask = Task { try await storeGroup.run() }
        let harness = SessionHarness(
            chain: chain, rpc: rpc, ledger: ledger, rail: rail, booker: booker, payee: payee, asset: asset,
            merchant: try AccountID("merchant:mpps:\(id)"), id: id, store: store,
            secrets: try ChallengeSecrets(["mpp-session-tests-secret-\(id)-0123456789abcdef"]))
        harness.services.withLock { $0.append((storeGroup, storeTask)) }
        do {
            let result = try await body(harness)
            await harness.stop()
            await chainGroup.triggerGracefulShutdown()
            try? await chainTask.value
            return result
        } catch {
            await harness.stop()
            await chainGroup.triggerGracefulShutdown()
            throw error
        }
    }

    func stop() async {
        for (group, task) in services.withLock({ $0 }).reversed() {
            await group.triggerGracefulShutdown()
            try? await task.value
        }
    }

    func configuration(_ version: TempoChannelEscrow = .v2, feePayer: PrivateKey? = nil) -> SessionConfiguration {
        SessionConfiguration(
            sessionProtocol: version, escrow: version == .v2 ? TempoChannelEscrow.v2Address : TempoChannelEscrow.v1ModeratoAddress,
            otherEscrows: version == .v2 ? [.v1: TempoChannelEscrow.v1ModeratoAddress] : [.v2: TempoChannelEscrow.v2Address],
            chainID: Self.chainID, token: Self.pathUSD, recipient: payee.address, settlementKey: payee, feePayer: feePayer,
            amountPerUnit: Self.price, suggestedDeposit: 1_000_000, asset: asset, channelStateTTL: .seconds(60))
    }

    func method(_ version: TempoChannelEscrow = .v2, feePayer: PrivateKey? = nil) -> TempoSessionMethod {
        TempoSessionMethod(configuration: configuration(version, feePayer: feePayer), rpc: rpc, store: store, logger: Self.logger)
    }

    /// Starts a replica serving `/paid` and `/lost` with a method of its own; returns its base URL.
    func startServer(_ method: TempoSessionMethod) async throws -> String {
        let router = Router(context: BasicRequestContext.self)
        let server = MPPServer(
            configuration: MPPServerConfiguration(realm: "mpp-session-tests", secrets: secrets),
            proofs: MPPProofStore(client: ledger.client, logger: Self.logger))
        let offer = MPPOffer(method: method, request: method.configuration.request)
        let routes = ["/paid", "/lost"].map {
            MPPRoute(path: $0, methods: [.get, .head], offers: [offer], merchantAccount: merchant.rawValue)
        }
        let paid = router.group().add(middleware: MPPMiddleware<BasicRequestContext>(server: server, routes: routes))
        paid.get("/paid") { _, _ in "paid content" }
        paid.get("/lost") { [self] _, _ -> String in
            if loseNextAnswer.exchange(false, ordering: .relaxed) { throw HTTPError(.internalServerError) }
            return "paid content"
        }
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: CanonicalPaths(router), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { sink.yield($0.localAddress?.port ?? 0) }, logger: Self.logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: Self.logger))
        let task = Task { try await group.run() }
        services.withLock { $0.append((group, task)) }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        return "http://127.0.0.1:\(port)"
    }

    /// A payer funded by the faucet (a million of every token).
    func fundedPayer() async throws -> PrivateKey {
        let key = PrivateKey.random()
        let _: RPCValue = try await rpc.request("tempo_fundAddress", [.string(key.address.lowercased)])
        return key
    }

    func balance(_ account: AccountID) async throws -> Balance {
        try await ledger.balance(of: account)
    }

    func vouchersAccount(_ channel: Hash32) throws -> AccountID {
        try SessionStore.vouchersAccount(asset: asset, channel: channel)
    }

    func tokenBalance(_ owner: Address) async throws -> EVM.UInt256 {
        let output = try await rpc.call(CallRequest(to: Self.pathUSD, data: ABI.encodeCall("balanceOf(address)", [.address(owner)])))
        return try #require(try ABI.decode([.uint256], from: output).first?.uint)
    }

    /// Waits for `condition` with a deadline (no sleeps-and-hope).
    static func eventually(_ what: String, timeout: Duration = HangGuard.duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for \(what)")
    }
}
