import ArgumentParser
import AsyncHTTPClient
import DevChain
import EVM
import Foundation
import Hummingbird
import Ledger
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import RailKit
import ServiceLifecycle
import X402

/// `settle bench x402`: the facilitator's verify latency with chain checks off (goal: p99 ≤ 1 ms),
/// and paid requests per second end to end (HTTP → middleware → verify → handler → settle on the
/// in-process dev chain, automine → ledger) with N concurrent agents. Run a release build.
struct X402Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "x402", abstract: "Benchmark x402 verify and paid requests.")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "verify calls measured one at a time.") var verifies = 5_000
    @Option(help: "Paid requests made end to end.") var requests = 1_000
    @Option(help: "Concurrent agents (each its own key) making the paid requests.") var agents = 32
    @Flag(help: "Print the figures as one JSON object.") var json = false

    struct Figures: Encodable {
        var verify_p50_us: Double
        var verify_p99_us: Double
        var verify_calls: Int
        var paid_requests_per_s: Double
        var paid_requests: Int
        var agents: Int
    }

    static let tokenAddress = try! Address("0x0000000000000000000000000000000000402b3c")
    static let token = X402Token(
        chainID: 31337, address: tokenAddress, name: "USD Coin", version: "2", decimals: 6, assetID: "usdc-x402-bench")

    func validate() throws {
        guard verifies >= 1, requests >= 1, agents >= 1 else { throw ValidationError("counts must be positive") }
    }

    func run() async throws {
        let options = self
        let figures = try await db.withLedger(connections: 16) { ledger in try await options.measure(ledger) }
        if json {
            print(try JSONCoding.line(figures))
        } else {
            func f(_ x: Double) -> String { x.formatted(.number.precision(.fractionLength(0...1))) }
            print("settle bench x402")
            print(
                "  verify (no chain call), \(figures.verify_calls) calls : p50 \(f(figures.verify_p50_us)) µs, p99 \(f(figures.verify_p99_us)) µs"
            )
            print(
                "  paid requests end to end, \(figures.agents) agents     : \(f(figures.paid_requests_per_s))/s (\(figures.paid_requests) requests)"
            )
        }
    }

    /// Automine stamps each block a second after the last, so a long run moves the chain's clock
    /// far ahead of the wall clock: the payments get an hour's window.
    func measure(_ ledger: PostgresLedger) async throws -> Figures {
        var logger = db.logger
        logger.logLevel = .error
        let chain = try DevChain(
            configuration: DevChainConfiguration(
                port: 0, blockTime: .zero, automine: true,
                tokens: [TokenConfiguration(address: Self.tokenAddress, name: "USD Coin", symbol: "USDC")]))
        let (chainPorts, chainPort) = AsyncStream.makeStream(of: Int.self)
        let chainApp = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { chainPort.yield(DevChainServer.boundPort($0) ?? 0) })
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let payTo = PrivateKey.random().address
        let merchant = try AccountID("bench:x402:\(tag):merchant")
        let httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: agents)))
        let (appPorts, appPort) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(configuration: .init(services: [chainApp], logger: logger))
        let chainTask = Task { try await group.run() }
        var appGroup: ServiceGroup?
        var appTask: Task<Void, any Error>?
        defer { _ = appTask }
        do {
            var iterator = chainPorts.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CommandFailure(description: "the dev chain did not start") }
            let rpc = EthereumRPC(url: "http://127.0.0.1:\(port)", configuration: .init(timeout: .seconds(30), maxAttempts: 1))
            let store = X402SettlementStore(client: ledger.client, logger: logger)
            let facilitator = X402Facilitator(
                configuration: X402FacilitatorConfiguration(
                    tokens: [Self.token], signer: TestAccounts.privateKeys[9], chainChecks: .none, maxTimeoutSeconds: 7_200,
                    receiptTimeout: .seconds(30),
                    receiptPollInterval: .milliseconds(2), merchantAccounts: [payTo.lowercased: merchant]),
                rpc: rpc, store: store, booker: RailBooker(ledger: ledger), logger: logger)
            let requirements = PaymentRequirements.exact(
                network: Self.token.network, amount: "1000", asset: Self.tokenAddress.checksummed, payTo: payTo.checksummed,
                maxTimeoutSeconds: 3_600, name: "USD Coin", version: "2")

            // 1. verify, one call at a time, chain checks off: signature, binding, window, store.
            let payer = PrivateKey.random()
            let verifyPayloads = (0..<verifies).map { _ in Self.payment(payer, requirements) }
            for payload in verifyPayloads.prefix(50) { _ = try await facilitator.verify(payload, requirements: requirements) }
            var latencies: [Double] = []
            latencies.reserveCapacity(verifies)
            let clock = ContinuousClock()
            for payload in verifyPayloads {
                let start = clock.now
                let answer = try await facilitator.verify(payload, requirements: requirements)
                let elapsed = clock.now - start
                guard answer.isValid else {
                    throw CommandFailure(description: "verify refused a valid payment: \(answer.invalidReason?.rawValue ?? "")")
                }
                latencies.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
            }
            latencies.sort()
            func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }

            // 2. Paid requests through HTTP, settled on the dev chain and booked.
            let router = Router(context: BasicRequestContext.self)
            X402Server.routes(
                on: router, configuration: X402ServerConfiguration(routes: [X402Route(path: "/paid", accepts: [requirements])]),
                facilitator: facilitator, store: X402ResponseStore(client: ledger.client, logger: logger)
            )
            .get("/paid") { _, _ in "paid" }
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { appPort.yield($0.localAddress?.port ?? 0) }, logger: logger)
            let started = ServiceGroup(configuration: .init(services: [app], logger: logger))
            appGroup = started
            appTask = Task { try await started.run() }
            var appIterator = appPorts.makeAsyncIterator()
            guard let httpPort = await appIterator.next() else { throw CommandFailure(description: "the app did not start") }
            let url = "http://127.0.0.1:\(httpPort)/paid"
            var keys: [PrivateKey] = []
            for _ in 0..<agents {
                let key = PrivateKey.random()
                try await chain.fund(key.address, ether: .zero, token: Self.tokenAddress, tokenAmount: UInt256(UInt64(requests) * 1_000))
                keys.append(key)
            }
            let perAgent = (0..<agents).map { requests / agents + ($0 < requests % agents ? 1 : 0) }
            let payloads = (0..<agents).map { a in (0..<perAgent[a]).map { _ in Self.payment(keys[a], requirements) } }
            let codec = X402HeaderCodec.standard
            let start = clock.now
            let served = try await withThrowingTaskGroup(of: Int.self) { group in
                for agentPayloads in payloads {
                    group.addTask {
                        var ok = 0
                        for payload in agentPayloads {
                            var request = HTTPClientRequest(url: url)
                            request.headers.add(name: "PAYMENT-SIGNATURE", value: codec.encode(payload))
                            let response = try await httpClient.execute(request, timeout: .seconds(60))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            if response.status == .ok { ok += 1 }
                        }
                        return ok
                    }
                }
                return try await group.reduce(0, +)
            }
            let seconds = Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds)
            guard served == requests else {
                throw CommandFailure(description: "\(requests - served) of \(requests) paid requests were not served")
            }
            await started.triggerGracefulShutdown()
            try? await appTask?.value
            await group.triggerGracefulShutdown()
            try? await chainTask.value
            try await httpClient.shutdown()
            return Figures(
                verify_p50_us: percentile(0.50), verify_p99_us: percentile(0.99), verify_calls: verifies,
                paid_requests_per_s: Double(requests) / seconds, paid_requests: requests, agents: agents)
        } catch {
            if let appGroup { await appGroup.triggerGracefulShutdown() }
            await group.triggerGracefulShutdown()
            try? await httpClient.shutdown()
            throw error
        }
    }

    static func payment(_ key: PrivateKey, _ requirements: PaymentRequirements) -> PaymentPayload {
        let nonce = try! Hash32(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) })
        let authorization = TransferWithAuthorization(
            from: key.address, to: try! Address(requirements.payTo), value: 1_000, validAfter: 0,
            validBefore: UInt256(UInt64(Date().timeIntervalSince1970) + 3_600), nonce: nonce)
        let signature = authorization.sign(with: key, in: token.domain)
        let payload: JSONValue = .object([
            "signature": .string(signature.hex),
            "authorization": .object([
                "from": .string(key.address.checksummed), "to": .string(authorization.to.checksummed), "value": .string("1000"),
                "validAfter": .string("0"), "validBefore": .string(authorization.validBefore.description), "nonce": .string(nonce.hex),
            ]),
        ])
        return PaymentPayload(accepted: requirements, payload: payload)
    }
}
