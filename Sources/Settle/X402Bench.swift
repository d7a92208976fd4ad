import ArgumentParser
import AsyncHTTPClient
import DevChain
import EVM
import Foundation
import HTTPLoad
import Hummingbird
import Ledger
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import RailKit
import ServiceLifecycle
import X402

/// `settle bench x402` (issue 16): over HTTP on loopback against one app serving an `exact` route
/// and a `batch-settlement` route, on the in-process dev chain mining a block every `--block-ms`:
///
/// - the facilitator's `verify` with chain checks off, one call at a time (goal p99 ≤ 1 ms);
/// - batch-settlement voucher-paid requests per second for one hot channel (x402 serves one
///   voucher at a time per channel, so: one connection, call after call) and for `--channels`
///   channels (one keep-alive connection each), beside `settle bench api`'s post rate and the
///   in-process ledger batch rate of the same run (goal: at least the post rate, ≥ 5,000/s, p99 ≤
///   25 ms), as `settle bench mpp` does for MPP sessions;
/// - `exact` paid requests per second from `--agents` agents with `--in-flight` calls each (each
///   call a settlement on chain and its receipt, a ledger hold and its post; goal ≥ 1,000/s with
///   250 ms blocks).
///
/// Figures are medians of `--rounds`. Run a release build.
struct X402Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "x402", abstract: "Benchmark x402 verify and paid requests.")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "verify calls measured one at a time, per round.") var verifies = 5_000
    @Option(help: "Agents (each its own key) making the exact paid requests.") var agents = 64
    @Option(help: "Concurrent exact calls per agent (each its own authorization).") var inFlight = 8
    @Option(help: "Measured exact paid requests per connection and round.") var exactRequests = 8
    @Option(help: "The dev chain's block interval in milliseconds.") var blockMs = 250
    @Option(help: "Batch-settlement channels, one keep-alive connection each.") var channels = 100
    @Option(help: "Measured vouchers per channel and round.") var vouchers = 200
    @Option(help: "Measured vouchers of the hot channel per round.") var hotVouchers = 2_000
    @Option(help: "Unmeasured warm-up calls per connection and round.") var warmup = 10
    @Option(help: "Rounds; the figures are their medians.") var rounds = 3
    @Option(help: "Clients of the `settle bench api` run.") var apiClients = 64
    @Option(help: "Posts per client of the `settle bench api` run.") var apiRequests = 300
    @Flag(help: "Print the figures as one JSON object.") var json = false

    struct Figures: Encodable {
        var verify_p50_us: Double
        var verify_p99_us: Double
        var verify_calls: Int
        var hot_channel_per_s: Double
        var hot_channel_p50_ms: Double
        var hot_channel_p99_ms: Double
        var channels_per_s: Double
        var channels_p50_ms: Double
        var channels_p99_ms: Double
        var channels: Int
        var exact_per_s: Double
        var exact_p50_ms: Double
        var exact_p99_ms: Double
        var exact_requests: Int
        var agents: Int
        var in_flight_per_agent: Int
        var block_ms: Int
        var most_settlements_in_a_block: Int
        var failed: Int
        var api_posts_per_s: Double
        var ledger_batch_per_s: Double
        var revenue_matches_charges: Bool
        var load_at_rounds: [String]
        var rounds: Int
    }

    /// One round's figures.
    struct Round {
        var verifyP50: Double
        var verifyP99: Double
        var hot: LoadReport
        var spread: LoadReport
        var exact: LoadReport
        var load: String
    }

    static let tokenAddress = try! Address("0x0000000000000000000000000000000000402b3c")
    static let token = X402Token(
        chainID: 31337, address: tokenAddress, name: "USD Coin", version: "2", decimals: 6, assetID: "usdc-x402-bench")
    /// Ethereum mainnet's block gas limit since December 2025 (anvil's default, 30 M, holds about
    /// 270 settlements with their gas limit's margin).
    static let blockGasLimit: UInt64 = 60_000_000
    static let exactPrice: UInt64 = 1_000
    static let voucherPrice: UInt64 = 1

    func validate() throws {
        guard verifies >= 1, agents >= 1, inFlight >= 1, exactRequests >= 1, blockMs >= 1, channels >= 1, vouchers >= 1, hotVouchers >= 1,
            warmup >= 0, rounds >= 1
        else { throw ValidationError("counts must be positive") }
    }

    func run() async throws {
        var apiArguments = ["--clients", "\(apiClients)", "--requests", "\(apiRequests)", "--log-level", "\(db.logLevel)"]
        if let url = db.databaseURL { apiArguments += ["--database-url", url] }
        let (api, _) = try await APIBench.parse(apiArguments).measure()
        let options = self
        let (measured, mostInBlock, matches) = try await db.withLedger(connections: 16) { ledger in try await options.measure(ledger) }
        func median(_ value: (Round) -> Double) -> Double { measured.map(value).sorted()[measured.count / 2] }
        let figures = Figures(
            verify_p50_us: median(\.verifyP50), verify_p99_us: median(\.verifyP99), verify_calls: verifies,
            hot_channel_per_s: median(\.hot.throughput), hot_channel_p50_ms: median { $0.hot.p50.milliseconds },
            hot_channel_p99_ms: median { $0.hot.p99.milliseconds }, channels_per_s: median(\.spread.throughput),
            channels_p50_ms: median { $0.spread.p50.milliseconds }, channels_p99_ms: median { $0.spread.p99.milliseconds },
            channels: channels, exact_per_s: median(\.exact.throughput), exact_p50_ms: median { $0.exact.p50.milliseconds },
            exact_p99_ms: median { $0.exact.p99.milliseconds }, exact_requests: agents * inFlight * exactRequests, agents: agents,
            in_flight_per_agent: inFlight, block_ms: blockMs, most_settlements_in_a_block: mostInBlock,
            failed: measured.reduce(0) {
                $0 + $1.hot.failed + $1.hot.transportErrors + $1.spread.failed + $1.spread.transportErrors + $1.exact.failed
                    + $1.exact.transportErrors
            },
            api_posts_per_s: api.api_tps, ledger_batch_per_s: api.ledger_hot_tps, revenue_matches_charges: matches,
            load_at_rounds: measured.map(\.load), rounds: rounds)
        if json {
            print(try JSONCoding.line(figures))
        } else {
            func f(_ x: Double) -> String { x.formatted(.number.precision(.fractionLength(0...2))) }
            print("settle bench x402: over HTTP on loopback, dev chain blocks every \(blockMs) ms, medians of \(rounds) rounds")
            for (k, r) in measured.enumerated() {
                print(
                    "  round \(k + 1) (load \(r.load)): verify p99 \(f(r.verifyP99)) µs, hot \(f(r.hot.throughput))/s p99 \(f(r.hot.p99.milliseconds)) ms, "
                        + "\(channels) channels \(f(r.spread.throughput))/s p99 \(f(r.spread.p99.milliseconds)) ms, "
                        + "exact \(f(r.exact.throughput))/s p99 \(f(r.exact.p99.milliseconds)) ms")
            }
            print("  verify (no chain call)      : p50 \(f(figures.verify_p50_us)) µs, p99 \(f(figures.verify_p99_us)) µs")
            print(
                "  one hot channel             : \(f(figures.hot_channel_per_s))/s, p50 \(f(figures.hot_channel_p50_ms)) ms, p99 \(f(figures.hot_channel_p99_ms)) ms"
            )
            print(
                "  \(channels) channels                : \(f(figures.channels_per_s))/s, p50 \(f(figures.channels_p50_ms)) ms, p99 \(f(figures.channels_p99_ms)) ms"
            )
            print(
                "  exact, \(agents) agents × \(inFlight)      : \(f(figures.exact_per_s))/s, p50 \(f(figures.exact_p50_ms)) ms, p99 \(f(figures.exact_p99_ms)) ms; "
                    + "most settlements in one block \(mostInBlock)")
            print("  failed                      : \(figures.failed)")
            print("  bench api posts             : \(f(api.api_tps))/s (channels/posts = \(f(figures.channels_per_s / api.api_tps)))")
            print("  in-process batch            : \(f(api.ledger_hot_tps))/s")
            print("  revenue = charges           : \(matches)")
        }
        guard matches else { throw CommandFailure(description: "bench: the merchant's revenue is not what was paid") }
    }

    func measure(_ ledger: PostgresLedger) async throws -> (rounds: [Round], mostInBlock: Int, matches: Bool) {
        var logger = db.logger
        logger.logLevel = .error
        let chain = try DevChain(
            configuration: DevChainConfiguration(
                port: 0, blockTime: .milliseconds(blockMs), automine: false,
                tokens: [TokenConfiguration(address: Self.tokenAddress, name: "USD Coin", symbol: "USDC")],
                blockGasLimit: Self.blockGasLimit))
        let (chainPorts, chainPort) = AsyncStream.makeStream(of: Int.self)
        let chainApp = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { chainPort.yield(DevChainServer.boundPort($0) ?? 0) })
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let payTo = PrivateKey.random().address
        let merchant = try AccountID("bench:x402:\(tag):merchant")
        let services = ServiceGroup(configuration: .init(services: [chainApp], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            defer { Task { await services.triggerGracefulShutdown() } }
            var chainIterator = chainPorts.makeAsyncIterator()
            guard let port = await chainIterator.next() else { throw CommandFailure(description: "the dev chain did not start") }
            let rpc = EthereumRPC(url: "http://127.0.0.1:\(port)", configuration: .init(timeout: .seconds(30), maxAttempts: 1))
            let facilitator = X402Facilitator(
                configuration: X402FacilitatorConfiguration(
                    tokens: [Self.token], signer: TestAccounts.privateKeys[9], chainChecks: .none, maxTimeoutSeconds: 7_200,
                    receiptTimeout: .seconds(60), receiptPollInterval: .milliseconds(10), merchantAccounts: [payTo.lowercased: merchant]),
                rpc: rpc, store: X402SettlementStore(client: ledger.client, logger: logger), booker: RailBooker(ledger: ledger),
                logger: logger)
            let batchConfiguration = X402BatchConfiguration(
                token: Self.token, signer: TestAccounts.privateKeys[8], receiverAuthorizer: PrivateKey.random(),
                merchantAccounts: [payTo.lowercased: merchant])
            let batchStore = X402BatchStore(ledger: ledger, token: Self.token, logger: logger)
            try await batchStore.prepare()
            let batch = X402BatchServer(
                facilitator: X402BatchFacilitator(configuration: batchConfiguration, rpc: rpc, logger: logger), store: batchStore,
                logger: logger)
            let exact = PaymentRequirements.exact(
                network: Self.token.network, amount: "\(Self.exactPrice)", asset: Self.tokenAddress.checksummed, payTo: payTo.checksummed,
                maxTimeoutSeconds: 3_600, name: "USD Coin", version: "2")
            let metered = batchConfiguration.requirements(amount: "\(Self.voucherPrice)", payTo: payTo, minDeposit: "1")
            let router = Router(context: BasicRequestContext.self)
            let paid = X402Server.routes(
                on: router,
                configuration: X402ServerConfiguration(routes: [
                    X402Route(path: "/paid", methods: [.get], accepts: [exact]),
                    X402Route(path: "/metered", methods: [.get], accepts: [metered]),
                ]),
                facilitator: facilitator, store: X402ResponseStore(client: ledger.client, logger: logger), batch: batch)
            paid.get("/paid") { _, _ in "paid" }
            paid.get("/metered") { _, _ in "metered" }
            let (appPorts, appPort) = AsyncStream.makeStream(of: Int.self)
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { appPort.yield($0.localAddress?.port ?? 0) }, logger: logger)
            let appServices = ServiceGroup(configuration: .init(services: [app], logger: logger))
            tasks.addTask { try await appServices.run() }
            defer { Task { await appServices.triggerGracefulShutdown() } }
            var appIterator = appPorts.makeAsyncIterator()
            guard let httpPort = await appIterator.next() else { throw CommandFailure(description: "the app did not start") }
            let codec = X402HeaderCodec.standard

            // Channels: one per connection plus the hot one, each opened by a deposit over HTTP
            // (all in flight at once: a few blocks).
            let hotPerRound = warmup + hotVouchers
            let perRound = max(warmup + vouchers, hotPerRound)
            let deposit = EVM.UInt256(UInt64(perRound * rounds + 10) * Self.voucherPrice)
            let payers = (0...channels).map { _ in PrivateKey.random() }
            for payer in payers {
                try await chain.fund(payer.address, ether: .zero, token: Self.tokenAddress, tokenAmount: deposit)
            }
            let httpClient = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: .init(
                    connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: channels + 1)))
            let channelConfigs = payers.map { payer in
                BatchChannelConfig(
                    payer: payer.address, payerAuthorizer: payer.address, receiver: payTo,
                    receiverAuthorizer: batchConfiguration.receiverAuthorizer.address, token: Self.tokenAddress,
                    withdrawDelay: batchConfiguration.withdrawDelay, salt: .zero)
            }
            let domain = batchConfiguration.domain
            let opening = Task {
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    for (payer, config) in zip(payers, channelConfigs) {
                        let payload = X402BatchClient.deposit(
                            config, amount: deposit, maxClaimable: EVM.UInt256(Self.voucherPrice), key: payer, requirements: metered,
                            domain: domain, tokenDomain: Self.token.domain, lifetime: 600)
                        group.addTask {
                            var request = HTTPClientRequest(url: "http://127.0.0.1:\(httpPort)/metered")
                            request.headers.add(name: "PAYMENT-SIGNATURE", value: codec.encode(payload))
                            let response = try await httpClient.execute(request, timeout: .seconds(60))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            return response.status == .ok
                        }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
            }
            let opened: Int
            switch await opening.result {
            case .success(let count): opened = count
            case .failure(let error):
                try? await httpClient.shutdown()
                throw error
            }
            try await httpClient.shutdown()
            guard opened == payers.count else { throw CommandFailure(description: "bench: \(payers.count - opened) channels did not open") }
            // The deposit paid the first voucher; voucher k of a channel claims k + 1 prices.
            var nextVoucher = [Int](repeating: 1, count: payers.count)
            func signVouchers(_ channel: Int, count: Int) -> [LoadRequest] {
                let first = nextVoucher[channel]
                nextVoucher[channel] += count
                return (first..<first + count).map { k in
                    let payload = X402BatchClient.voucher(
                        channelConfigs[channel], EVM.UInt256(UInt64(k + 1) * Self.voucherPrice), key: payers[channel],
                        requirements: metered,
                        domain: domain)
                    return LoadRequest(path: "/metered", headers: [("PAYMENT-SIGNATURE", codec.encode(payload))])
                }
            }

            // exact: the agents' keys, funded.
            let agentKeys = (0..<agents).map { _ in PrivateKey.random() }
            let connections = agents * inFlight
            let exactPerRound = (1 + exactRequests) * connections
            for key in agentKeys {
                try await chain.fund(
                    key.address, ether: .zero, token: Self.tokenAddress,
                    tokenAmount: EVM.UInt256(UInt64(exactPerRound * rounds) * Self.exactPrice))
            }

            let verifyPayer = PrivateKey.random()
            var measured: [Round] = []
            let clock = ContinuousClock()
            for _ in 0..<rounds {
                let load =
                    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ")
                    ?? "?"
                // 1. verify, one call at a time, chain checks off: signature, binding, window, store.
                let verifyPayloads = (0..<verifies).map { _ in Self.payment(verifyPayer, exact) }
                for payload in verifyPayloads.prefix(50) { _ = try await facilitator.verify(payload, requirements: exact) }
                var latencies: [Double] = []
                latencies.reserveCapacity(verifies)
                for payload in verifyPayloads {
                    let start = clock.now
                    let answer = try await facilitator.verify(payload, requirements: exact)
                    let elapsed = clock.now - start
                    guard answer.isValid else {
                        throw CommandFailure(description: "verify refused a valid payment: \(answer.invalidReason?.rawValue ?? "")")
                    }
                    latencies.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
                }
                latencies.sort()
                func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }

                // 2. batch-settlement vouchers: the hot channel, call after call; then one
                // connection per channel. Vouchers are signed before the clock starts.
                let hotRequests = signVouchers(channels, count: hotPerRound)
                let hot = try await LoadGenerator(host: "127.0.0.1", port: httpPort, connections: 1).run(
                    requestsPerConnection: hotVouchers, warmupPerConnection: warmup, makeRequest: { _, index in hotRequests[index] })
                let spreadRequests = (0..<channels).map { signVouchers($0, count: warmup + self.vouchers) }
                let spread = try await LoadGenerator(host: "127.0.0.1", port: httpPort, connections: channels).run(
                    requestsPerConnection: self.vouchers, warmupPerConnection: warmup,
                    makeRequest: { connection, index in spreadRequests[connection][index] })

                // 3. exact: agents × in-flight connections, each authorization settled on chain.
                let exactRequests = (0..<connections).map { connection in
                    (0..<1 + self.exactRequests).map { _ in
                        LoadRequest(
                            path: "/paid",
                            headers: [("PAYMENT-SIGNATURE", codec.encode(Self.payment(agentKeys[connection % agents], exact)))])
                    }
                }
                let exactReport = try await LoadGenerator(
                    host: "127.0.0.1", port: httpPort, connections: connections, requestTimeout: .seconds(120)
                ).run(
                    requestsPerConnection: self.exactRequests, warmupPerConnection: 1,
                    makeRequest: { connection, index in exactRequests[connection][index] })
                measured.append(
                    Round(
                        verifyP50: percentile(0.50), verifyP99: percentile(0.99), hot: hot, spread: spread, exact: exactReport, load: load))
            }

            // The most settlements one block held, and the revenue: every exact payment and every
            // voucher charged (the deposits' first vouchers and the warm-ups included).
            var most = 0
            let head = await chain.blockNumber
            for number in 0...head {
                let count = await chain.block(number: number)?.transactions.count ?? 0
                most = max(most, count)
            }
            let exactPaid = UInt64(exactPerRound * rounds) * Self.exactPrice
            let vouchersPaid = UInt64(nextVoucher.reduce(0, +)) * Self.voucherPrice
            let revenue = try await ledger.balance(of: merchant).creditsPosted
            return (measured, most, revenue == Ledger.UInt256(exactPaid + vouchersPaid))
        }
    }

    static func payment(_ key: PrivateKey, _ requirements: PaymentRequirements) -> PaymentPayload {
        let nonce = try! Hash32(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) })
        let value = (try? EVM.UInt256(decimal: requirements.amount)) ?? .zero
        let authorization = TransferWithAuthorization(
            from: key.address, to: try! Address(requirements.payTo), value: value, validAfter: 0,
            validBefore: EVM.UInt256(UInt64(Date().timeIntervalSince1970) + 3_600), nonce: nonce)
        let signature = authorization.sign(with: key, in: token.domain)
        let payload: JSONValue = .object([
            "signature": .string(signature.hex),
            "authorization": .object([
                "from": .string(key.address.checksummed), "to": .string(authorization.to.checksummed),
                "value": .string(requirements.amount),
                "validAfter": .string("0"), "validBefore": .string(authorization.validBefore.description), "nonce": .string(nonce.hex),
            ]),
        ])
        return PaymentPayload(accepted: requirements, payload: payload)
    }
}
