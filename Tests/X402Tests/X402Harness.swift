import AsyncHTTPClient
import DevChain
import EVM
import Foundation
import Hummingbird
import Ledger
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Paywall
import PostgresNIO
import RailKit
import ServiceLifecycle
import SettleTesting
import Synchronization
import Testing

@testable import X402

/// A dev chain, a facilitator over the test database and a Hummingbird app with the x402
/// middleware, all in process on 127.0.0.1.
///
/// The tests' token lives at an address of its own, so that its ledger asset (unique per network
/// and token) never meets another suite's.
final class X402Harness: Sendable {
    static let tokenAddress = try! Address("0x0000000000000000000000000000000000402402")
    static let tokenConfiguration = TokenConfiguration(address: tokenAddress, name: "USD Coin", symbol: "USDC")
    static let token = X402Token(
        chainID: 31337, address: tokenAddress, name: "USD Coin", version: "2", decimals: 6, assetID: "usdc-x402-tests")
    static let network = "eip155:31337"
    static let facilitatorKey = TestAccounts.privateKeys[9]
    static let logger: Logger = {
        var l = Logger(label: "x402-tests")
        l.logLevel = .critical
        return l
    }()

    let chain: DevChain
    let chainURL: String
    let rpc: EthereumRPC
    let ledger: PostgresLedger
    let facilitator: X402Facilitator
    /// The merchant's ledger revenue account and on-chain address, unique to this harness.
    let merchant: AccountID
    let payTo: Address
    let id: String
    private let chainGroup: ServiceGroup
    private let chainTask: Task<Void, any Error>
    /// The apps ``serve(_:)`` started (a test may serve replicas), stopped by ``stop()``.
    private let apps = Mutex<[(ServiceGroup, Task<Void, any Error>)]>([])

    static func start(
        receiptTimeout: Duration = .seconds(10), chainChecks: X402FacilitatorConfiguration.ChainChecks = .all,
        ledger: PostgresLedger? = nil
    ) async throws -> X402Harness {
        let configuration = DevChainConfiguration(port: 0, blockTime: .zero, automine: true, tokens: [tokenConfiguration])
        let chain = try DevChain(configuration: configuration)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { channel in continuation.yield(DevChainServer.boundPort(channel) ?? 0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw Failure("the dev chain did not start") }
        let url = "http://127.0.0.1:\(port)"
        let rpc = EthereumRPC(url: url, configuration: .init(timeout: HangGuard.duration, maxAttempts: 1))
        let ledger = if let ledger { ledger } else { try await TestDatabase.ledger() }
        let id = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let merchant = try AccountID("merchant:x402:\(id)")
        let payTo = PrivateKey.random().address
        let facilitator = X402Facilitator(
            configuration: X402FacilitatorConfiguration(
                tokens: [token], signer: facilitatorKey, chainChecks: chainChecks, receiptTimeout: receiptTimeout,
                receiptPollInterval: .milliseconds(10), merchantAccounts: [payTo.lowercased: merchant]),
            rpc: rpc, store: X402SettlementStore(client: ledger.client, logger: logger), booker: RailBooker(ledger: ledger), logger: logger)
        return X402Harness(
            chain: chain, chainURL: url, rpc: rpc, ledger: ledger, facilitator: facilitator, merchant: merchant, payTo: payTo, id: id,
            chainGroup: group, chainTask: task)
    }

    private init(
        chain: DevChain, chainURL: String, rpc: EthereumRPC, ledger: PostgresLedger, facilitator: X402Facilitator, merchant: AccountID,
        payTo: Address, id: String, chainGroup: ServiceGroup, chainTask: Task<Void, any Error>
    ) {
        self.chain = chain
        self.chainURL = chainURL
        self.rpc = rpc
        self.ledger = ledger
        self.facilitator = facilitator
        self.merchant = merchant
        self.payTo = payTo
        self.id = id
        self.chainGroup = chainGroup
        self.chainTask = chainTask
    }

    /// - Parameter ledger: the ledger to book in; by default the tests' shared database. A test that
    ///   changes the schema (a fault-injecting trigger) passes one on an isolated database: DDL on a
    ///   shared table queues every other suite's writes behind it.
    static func with<T>(
        receiptTimeout: Duration = .seconds(10), chainChecks: X402FacilitatorConfiguration.ChainChecks = .all,
        ledger: PostgresLedger? = nil, _ body: (X402Harness) async throws -> T
    ) async throws -> T {
        let harness = try await start(receiptTimeout: receiptTimeout, chainChecks: chainChecks, ledger: ledger)
        do {
            let result = try await body(harness)
            try await harness.stop()
            return result
        } catch {
            try? await harness.stop()
            throw error
        }
    }

    func stop() async throws {
        for (group, task) in apps.withLock({ $0 }) {
            await group.triggerGracefulShutdown()
            try? await task.value
        }
        await chainGroup.triggerGracefulShutdown()
        try await chainTask.value
    }

    // MARK: Payments

    func requirements(amount: String = "1000", payTo: Address? = nil, maxTimeoutSeconds: Int = 60) -> PaymentRequirements {
        .exact(
            network: Self.network, amount: amount, asset: Self.tokenAddress.checksummed, payTo: (payTo ?? self.payTo).checksummed,
            maxTimeoutSeconds: maxTimeoutSeconds, name: "USD Coin", version: "2")
    }

    /// A payload signed in Swift, with every field overridable to make bad ones.
    static func payment(
        key: PrivateKey, requirements: PaymentRequirements, value: EVM.UInt256? = nil, to: Address? = nil, validAfter: UInt64 = 0,
        validBefore: UInt64? = nil, nonce: Hash32 = randomNonce(), domain: TokenDomain? = nil, signer: PrivateKey? = nil,
        paymentID: String? = nil
    ) throws -> PaymentPayload {
        let now = UInt64(Date().timeIntervalSince1970)
        let authorization = TransferWithAuthorization(
            from: key.address, to: try to ?? Address(requirements.payTo), value: try value ?? EVM.UInt256(decimal: requirements.amount),
            validAfter: EVM.UInt256(validAfter), validBefore: EVM.UInt256(validBefore ?? now + UInt64(requirements.maxTimeoutSeconds)),
            nonce: nonce)
        let signature = authorization.sign(with: signer ?? key, in: domain ?? token.domain)
        let exact = ExactEvmPayload(
            signature: signature.hex,
            authorization: .init(
                from: authorization.from.checksummed, to: authorization.to.checksummed, value: authorization.value.description,
                validAfter: authorization.validAfter.description, validBefore: authorization.validBefore.description,
                nonce: authorization.nonce.hex))
        let payloadJSON = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(exact))
        var extensions: [String: JSONValue]?
        if let paymentID {
            extensions = ["payment-identifier": .object(["info": .object(["required": .bool(false), "id": .string(paymentID)])])]
        }
        return PaymentPayload(accepted: requirements, payload: payloadJSON, extensions: extensions)
    }

    static func randomNonce() -> Hash32 { try! Hash32(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) }) }

    /// A payer key holding `tokens` atomic units, funded through `devchain_fund`.
    func fundedPayer(tokens: UInt64 = 1_000_000) async throws -> PrivateKey {
        let key = PrivateKey.random()
        let _: RPCValue = try await rpc.request(
            "devchain_fund",
            [
                .object([
                    "address": .string(key.address.lowercased), "token": .string(Self.tokenAddress.lowercased),
                    "tokenAmount": .quantity(EVM.UInt256(tokens)),
                ])
            ])
        return key
    }

    func tokenBalance(_ owner: Address) async throws -> EVM.UInt256 {
        let output = try await rpc.call(CallRequest(to: Self.tokenAddress, data: ABI.encodeCall("balanceOf(address)", [.address(owner)])))
        return try #require(try ABI.decode([.uint256], from: output).first?.uint)
    }

    /// Transactions the facilitator's key has mined.
    func facilitatorTransactions() async throws -> UInt64 {
        try await rpc.transactionCount(Self.facilitatorKey.address, block: .latest)
    }

    /// Credits posted and pending on the merchant's account.
    func merchantBalance() async throws -> (posted: Ledger.UInt256, pending: Ledger.UInt256) {
        do {
            let balance = try await ledger.balance(of: merchant)
            return (balance.creditsPosted, balance.creditsPending)
        } catch  where error.code == .accountNotFound {
            return (.zero, .zero)  // nothing was ever booked to it
        }
    }

    func settlementStates() async throws -> [String: Int] {
        let rows = try await ledger.client.query(
            """
            select state, count(*)::int from settle.x402_settlements
            where asset = \(Self.tokenAddress.lowercased) and payload->'accepted'->>'payTo' = \(payTo.checksummed) group by state
            """,
            logger: Self.logger)
        var result: [String: Int] = [:]
        for try await (state, count) in rows.decode((String, Int).self) { result[state] = count }
        return result
    }

    // MARK: HTTP app

    /// Starts the resource server: `/paid` and `/paid-twin` at `price`, `/pricier` at twice it,
    /// `/paid/joke` at `price`, `/fails` (500 after payment), `/unpriced` (behind the paywall
    /// without a price), `/free`, and the facilitator API under `/facilitator`, on canonical paths.
    func startServer(
        price: String = "1000", maxTimeoutSeconds: Int = 60, v1Names: [String: UInt64] = ["devchain": 31337],
        routerOptions: RouterOptions = [], claimLease: Duration = .seconds(120), facilitatorAccess: X402FacilitatorAccess = .open
    ) async throws -> String {
        let router = Router(context: BasicRequestContext.self, options: routerOptions)
        let routes = [
            X402Route(path: "/paid", accepts: [requirements(amount: price, maxTimeoutSeconds: maxTimeoutSeconds)]),
            X402Route(path: "/paid-twin", accepts: [requirements(amount: price)]),
            X402Route(path: "/pricier", accepts: [requirements(amount: String(UInt64(price)! * 2))]),
            X402Route(path: "/paid/joke", accepts: [requirements(amount: price)]),
            X402Route(path: "/fails", accepts: [requirements(amount: price)]),
        ]
        let paid = X402Server.routes(
            on: router,
            configuration: X402ServerConfiguration(routes: routes, v1: X402V1Bridge(networks: v1Names), claimLease: claimLease),
            facilitator: facilitator,
            store: X402ResponseStore(client: ledger.client, logger: Self.logger))
        paid.get("/paid") { _, _ in "paid content" }
        paid.get("/paid-twin") { _, _ in "twin content" }
        paid.get("/pricier") { _, _ in "pricier content" }
        paid.get("/paid/joke") { _, _ in "joke content" }
        paid.get("/fails") { _, _ -> Response in throw HTTPError(.internalServerError) }
        paid.get("/unpriced") { _, _ in "unpriced content" }
        router.get("/free") { _, _ in "free content" }
        X402FacilitatorRoutes.add(to: router.group("facilitator"), facilitator: facilitator, access: facilitatorAccess)
        return try await serve(router)
    }

    /// Serves `router` on canonical paths until ``stop()``; returns its base URL.
    func serve(_ router: Router<BasicRequestContext>) async throws -> String {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: CanonicalPaths(router), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: Self.logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: Self.logger))
        let task = Task { try await group.run() }
        apps.withLock { $0.append((group, task)) }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw Failure("the app did not start") }
        return "http://127.0.0.1:\(port)"
    }

    struct HTTPAnswer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String

        var paymentRequired: PaymentRequired? {
            headers.first(name: "PAYMENT-REQUIRED").flatMap { try? X402HeaderCodec.standard.decode(PaymentRequired.self, from: $0) }
        }
        var paymentResponse: SettleResponse? {
            (headers.first(name: "PAYMENT-RESPONSE") ?? headers.first(name: "X-PAYMENT-RESPONSE")).flatMap {
                try? X402HeaderCodec.standard.decode(SettleResponse.self, from: $0)
            }
        }
    }

    static func get(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        let body = try await response.body.collect(upTo: 1 << 20)
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }

    static func pay(_ url: String, _ payload: PaymentPayload) async throws -> HTTPAnswer {
        try await get(url, headers: [("PAYMENT-SIGNATURE", X402HeaderCodec.standard.encode(payload))])
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
