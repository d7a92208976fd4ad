import ArgumentParser
import DevChain
import EVM
import Foundation
import HTTPLoad
import Hummingbird
import Ledger
import Logging
import MPP
import MPPSession
import NIOCore
import Paywall
import PostgresNIO
import RailKit
import ServiceLifecycle
import Synchronization
import TempoRail

/// `settle bench mpp`: voucher-paid `tempo/session` requests per second end to end over HTTP on
/// loopback (credential parse, challenge check, one signature recovery, the voucher's state and
/// booking committed in a batch, the response), for one hot session (an agent paying many calls at
/// once on one channel, its vouchers signed in the order the calls are sent) and for many
/// concurrent sessions (one keep-alive connection each, call after call); beside `settle bench api`'s post rate, the
/// in-process ledger batch rate and libsecp256k1's recovery rate of the same run. Goal: at least the
/// post rate, ≥ 5,000/s, p99 ≤ 25 ms. Run a release build.
struct MPPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mpp", abstract: "Benchmark MPP session vouchers over HTTP.")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Concurrent sessions, one keep-alive connection each.") var sessions = 100
    @Option(help: "Measured vouchers per session and round.") var vouchers = 200
    @Option(help: "Measured vouchers of the hot session per round.") var hotVouchers = 6_400
    @Option(help: "Concurrent calls (keep-alive connections) of the hot session.") var hotConnections = 64
    @Option(help: "Unmeasured warm-up vouchers per connection and round.") var warmup = 10
    @Option(help: "Rounds; the figures are their medians.") var rounds = 3
    @Option(help: "Clients of the `settle bench api` run.") var apiClients = 64
    @Option(help: "Posts per client of the `settle bench api` run.") var apiRequests = 300
    @Flag(help: "Print the figures as one JSON object.") var json = false

    struct Figures: Encodable {
        var hot_session_per_s: Double
        var hot_session_p50_ms: Double
        var hot_session_p99_ms: Double
        var sessions_per_s: Double
        var sessions_p50_ms: Double
        var sessions_p99_ms: Double
        var sessions: Int
        var failed: Int
        var api_posts_per_s: Double
        var ledger_batch_per_s: Double
        var secp256k1_recover_per_s: Double
        var revenue_matches_charges: Bool
        var rounds: Int
    }

    static let price: UInt64 = 1

    func validate() throws {
        guard sessions >= 1, vouchers >= 1, hotVouchers >= 1, hotConnections >= 1, warmup >= 0, rounds >= 1 else {
            throw ValidationError("counts must be positive")
        }
    }

    func run() async throws {
        let secp = Self.recoveryRate()
        var apiArguments = ["--clients", "\(apiClients)", "--requests", "\(apiRequests)", "--log-level", "\(db.logLevel)"]
        if let url = db.databaseURL { apiArguments += ["--database-url", url] }
        let (api, _) = try await APIBench.parse(apiArguments).measure()
        let options = self
        let (hot, spread, matches) = try await db.withLedger(connections: 16) { ledger in try await options.measure(ledger) }
        func median(_ reports: [LoadReport], _ value: (LoadReport) -> Double) -> Double { reports.map(value).sorted()[reports.count / 2] }
        let figures = Figures(
            hot_session_per_s: median(hot, \.throughput), hot_session_p50_ms: median(hot) { $0.p50.milliseconds },
            hot_session_p99_ms: median(hot) { $0.p99.milliseconds }, sessions_per_s: median(spread, \.throughput),
            sessions_p50_ms: median(spread) { $0.p50.milliseconds }, sessions_p99_ms: median(spread) { $0.p99.milliseconds },
            sessions: sessions, failed: (hot + spread).reduce(0) { $0 + $1.failed + $1.transportErrors }, api_posts_per_s: api.api_tps,
            ledger_batch_per_s: api.ledger_hot_tps, secp256k1_recover_per_s: secp, revenue_matches_charges: matches, rounds: rounds)
        if json {
            print(try JSONCoding.line(figures))
        } else {
            func f(_ x: Double) -> String { x.formatted(.number.precision(.fractionLength(0...2))) }
            print("settle bench mpp: tempo/session vouchers over HTTP on loopback, medians of \(rounds) rounds")
            for (k, (h, s)) in zip(hot, spread).enumerated() {
                print(
                    "  round \(k + 1): hot \(f(h.throughput))/s p99 \(f(h.p99.milliseconds)) ms, "
                        + "\(sessions) sessions \(f(s.throughput))/s p99 \(f(s.p99.milliseconds)) ms")
            }
            print(
                "  one hot session       : \(f(figures.hot_session_per_s))/s, p50 \(f(figures.hot_session_p50_ms)) ms, p99 \(f(figures.hot_session_p99_ms)) ms"
            )
            print(
                "  \(sessions) sessions          : \(f(figures.sessions_per_s))/s, p50 \(f(figures.sessions_p50_ms)) ms, p99 \(f(figures.sessions_p99_ms)) ms"
            )
            print("  failed                : \(figures.failed)")
            print("  bench api posts       : \(f(api.api_tps))/s (sessions/posts = \(f(figures.sessions_per_s / api.api_tps)))")
            print("  in-process batch      : \(f(api.ledger_hot_tps))/s")
            print("  libsecp256k1 recover  : \(f(secp))/s")
            print("  revenue = charges     : \(matches)")
        }
        guard matches else { throw CommandFailure(description: "bench: the merchant's revenue is not what the channels spent") }
    }

    /// libsecp256k1's parse + recover rate, as `settle bench evm` measures it.
    static func recoveryRate() -> Double {
        var digests: [Hash32] = []
        var compact: [UInt8] = []
        var recoveryIDs: [Int32] = []
        let key = PrivateKey.random()
        for index in 0..<256 {
            let digest = Keccak256.hash(Array("mpp bench \(index)".utf8))
            let signature = key.sign(digest: digest)
            digests.append(digest)
            compact += signature.r.bytes + signature.s.bytes
            recoveryIDs.append(Int32(signature.recoveryID))
        }
        let result = EVMBench.rawRecover(digests: digests, compact: compact, recoveryIDs: recoveryIDs, seconds: 1)
        return Double(result.iterations) / result.elapsed
    }

    func measure(_ ledger: PostgresLedger) async throws -> (hot: [LoadReport], spread: [LoadReport], matches: Bool) {
        var logger = db.logger
        logger.logLevel = .error
        var chainConfiguration = DevChainConfiguration.tempo(port: 0)
        chainConfiguration.blockTime = .zero
        chainConfiguration.automine = true
        let chain = try DevChain(configuration: chainConfiguration)
        let (chainPorts, chainPort) = AsyncStream.makeStream(of: Int.self)
        let chainApp = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { chainPort.yield(DevChainServer.boundPort($0) ?? 0) })
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let payee = PrivateKey.random()
        let merchant = "bench:mpp:\(tag):merchant"
        // The Tempo rail's asset of pathUSD on this network, as `settle sandbox` and `settle bench
        // tempo` name it: an asset is unique per network and token.
        let asset = try AssetID("pathusd-42431")
        let token = TokenConfiguration.pathUSD.address
        let services = ServiceGroup(configuration: .init(services: [chainApp], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            defer { Task { await services.triggerGracefulShutdown() } }
            var chainIterator = chainPorts.makeAsyncIterator()
            guard let port = await chainIterator.next() else { throw CommandFailure(description: "the dev chain did not start") }
            let chainURL = "http://127.0.0.1:\(port)"
            let rpc = EthereumRPC(url: chainURL, configuration: .init(timeout: .seconds(30), maxAttempts: 1))
            let rail = try TempoRail(
                configuration: RailConfiguration(
                    id: "tempo-mpp-bench-\(tag)", kind: "tempo",
                    settings: [
                        "rpc_url": .string(chainURL), "network": .string("eip155:42431"),
                        "tokens": .array([.string("\(asset.rawValue)=\(token.checksummed)=pathUSD")]),
                        "addresses": .array([.string(payee.address.checksummed)]),
                    ]), logger: logger)
            try await RailBooker(ledger: ledger).install(rail.descriptor)
            let store = SessionStore(ledger: ledger, logger: logger)
            let method = TempoSessionMethod(
                configuration: SessionConfiguration(
                    chainID: 42431, token: token, recipient: payee.address, settlementKey: payee, amountPerUnit: EVM.UInt256(Self.price),
                    suggestedDeposit: 1_000_000, asset: asset, channelStateTTL: .seconds(3_600)),
                rpc: rpc, store: store, logger: logger)
            let server = MPPServer(
                configuration: MPPServerConfiguration(
                    realm: "settle-bench", secrets: try ChallengeSecrets(["settle-bench-mpp-\(tag)-0123456789abcdef0123456789"]),
                    challengeLifetime: .seconds(3_600)),
                proofs: MPPProofStore(client: ledger.client, logger: logger))
            let route = MPPRoute(
                path: "/paid", methods: [.get], offers: [MPPOffer(method: method, request: method.configuration.request)],
                merchantAccount: merchant)
            let router = Router(context: BasicRequestContext.self)
            router.group().add(middleware: MPPMiddleware<BasicRequestContext>(server: server, routes: [route])).get("/paid") { _, _ in
                "paid"
            }
            let (appPorts, appPort) = AsyncStream.makeStream(of: Int.self)
            let app = Application(
                router: CanonicalPaths(router), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { appPort.yield($0.localAddress?.port ?? 0) }, logger: logger)
            let appServices = ServiceGroup(configuration: .init(services: [store, app], logger: logger))
            tasks.addTask { try await appServices.run() }
            defer { Task { await appServices.triggerGracefulShutdown() } }
            var appIterator = appPorts.makeAsyncIterator()
            guard let httpPort = await appIterator.next() else { throw CommandFailure(description: "the app did not start") }

            // The challenge, and one channel per session plus the hot one, opened over HTTP.
            let challenge = try server.challenges(for: route, scope: "GET /paid", body: nil)[0]
            let hotPerConnection = max(1, hotVouchers / hotConnections)
            let hotPerRound = (warmup + hotPerConnection) * hotConnections
            let perRound = max(warmup + vouchers, hotPerRound)
            let deposit = EVM.UInt256(UInt64(perRound * rounds + 10) * Self.price)
            var channels: [BenchChannel] = []
            for _ in 0...sessions {
                let payer = PrivateKey.random()
                let _: RPCValue = try await rpc.request("tempo_fundAddress", [.string(payer.address.lowercased)])
                let channel = BenchChannel(payer: payer, payee: payee.address, token: token, deposit: deposit)
                let opened = try await method.pay(
                    MPPPayment(
                        credential: PaymentCredential(challenge: challenge, payload: .object(channel.openPayload)),
                        payload: channel.openPayload,
                        request: method.configuration.request, scope: "GET /paid", merchantAccount: merchant,
                        proofs: server.proofs, servesContent: false))
                guard case .managed = opened else { throw CommandFailure(description: "bench: a channel did not open") }
                channels.append(channel)
            }
            // Credentials are signed before the clock starts: the client's cost is not the server's.
            func credentials(_ channel: BenchChannel, from: Int, count: Int) throws -> [LoadRequest] {
                try (from..<from + count).map { k in
                    LoadRequest(
                        path: "/paid",
                        headers: [
                            ("Authorization", try channel.authorization(challenge, cumulative: EVM.UInt256(UInt64(k + 1) * Self.price)))
                        ])
                }
            }
            var hot: [LoadReport] = []
            var spread: [LoadReport] = []
            for round in 0..<rounds {
                let start = round * perRound
                // The hot session's vouchers go out in cumulative order, whichever connection is free.
                let hotRequests = try credentials(channels[sessions], from: start, count: hotPerRound)
                let next = HotCounter()
                let hotReport = try await LoadGenerator(host: "127.0.0.1", port: httpPort, connections: hotConnections).run(
                    requestsPerConnection: hotPerConnection, warmupPerConnection: warmup,
                    makeRequest: { _, _ in hotRequests[next.take()] })
                hot.append(hotReport)
                let requests = try channels.prefix(sessions).map { try credentials($0, from: start, count: warmup + vouchers) }
                let report = try await LoadGenerator(host: "127.0.0.1", port: httpPort, connections: sessions).run(
                    requestsPerConnection: vouchers, warmupPerConnection: warmup,
                    makeRequest: { connection, index in requests[connection][index] })
                spread.append(report)
            }
            // What the channels recorded as spent (warm-up calls included) is what the ledger booked.
            var spent = EVM.UInt256.zero
            for channel in channels {
                spent = spent + (try await store.channel(channel.id)?.spent ?? .zero)
            }
            let revenue = try await ledger.balance(of: AccountID(merchant)).creditsPosted
            return (hot, spread, revenue.description == spent.description)
        }
    }
}

/// The next voucher of the hot session, taken as each call is sent.
final class HotCounter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

/// One benchmark session: a v2 channel opened by a funded payer, and its vouchers.
struct BenchChannel: Sendable {
    let payer: PrivateKey
    let descriptor: TempoChannelDescriptor
    let id: Hash32
    let openPayload: [String: MPP.JSONValue]

    init(payer: PrivateKey, payee: Address, token: Address, deposit: EVM.UInt256) {
        let salt = Keccak256.hash(payer.bytes)
        let open = ABI.encodeCall(
            "open(address,address,address,uint96,bytes32,address)",
            [.address(payee), .address(.zero), .address(token), .uint(deposit), .bytes32(salt), .address(.zero)])
        let transaction = TempoTransaction(
            chainID: 42431, maxPriorityFeePerGas: 0, maxFeePerGas: 20_000_000_000, gasLimit: 1_000_000,
            calls: [TempoCall(to: TempoChannelEscrow.v2Address, input: open)], nonceKey: EVM.UInt256(UInt64.random(in: 1...UInt64.max)),
            feeToken: token
        ).signed(with: payer)
        self.payer = payer
        descriptor = TempoChannelDescriptor(
            payer: payer.address, payee: payee, operator: .zero, token: token, salt: salt, authorizedSigner: .zero,
            expiringNonceHash: Keccak256.hash(transaction.transaction.senderPreimage + payer.address.bytes))
        id = descriptor.channelID(chainID: 42431)
        openPayload = [
            "action": .string("open"), "type": .string("transaction"), "channelId": .string(id.hex),
            "transaction": .string(transaction.rawHex), "cumulativeAmount": .string("0"),
        ]
    }

    func authorization(_ challenge: PaymentChallenge, cumulative: EVM.UInt256) throws -> String {
        let digest = TempoChannelEscrow.v2.voucherDigest(
            channelID: id, cumulativeAmount: cumulative,
            domain: TempoChannelEscrow.v2.domain(chainID: 42431, escrow: TempoChannelEscrow.v2Address))
        let payload: MPP.JSONValue = .object([
            "action": .string("voucher"), "channelId": .string(id.hex), "cumulativeAmount": .string(cumulative.description),
            "signature": .string(payer.sign(digest: digest).hex),
        ])
        return try PaymentCredential(challenge: challenge, payload: payload).authorization()
    }
}
