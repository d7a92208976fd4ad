import AsyncHTTPClient
import DevChain
import EVM
import Foundation
import Hummingbird
import Ledger
import Logging
import MPP
import MPPEVM
import NIOCore
import NIOHTTP1
import RailKit
import ServiceLifecycle
import SettleTesting
import Synchronization
import Testing
import X402

/// A dev chain with a USDC-like token, Settle's x402 facilitator booking in the test database, and
/// a Hummingbird app whose `GET /paid` costs `price` through `evm/charge`, all in process.
///
/// The token lives at an address of its own, so that its ledger asset (unique per network and
/// token) never meets another suite's.
struct EVMChargeHarness: Sendable {
    static let tokenAddress = try! Address("0x00000000000000000000000000000000006d7070")
    static let token = X402Token(
        chainID: 31337, address: tokenAddress, name: "USD Coin", version: "2", decimals: 6, assetID: "usdc-mpp-evm-tests")
    static let facilitatorKey = TestAccounts.privateKeys[8]
    static let price: EVM.UInt256 = 2_500
    static let realm = "127.0.0.1"
    static let logger: Logger = {
        var logger = Logger(label: "mpp-evm-tests")
        logger.logLevel = .critical
        return logger
    }()

    let url: String
    let rpc: EthereumRPC
    let ledger: PostgresLedger
    let merchant: AccountID
    let payTo: Address
    let served: Counter

    final class Counter: Sendable {
        let value = Mutex(0)
    }

    static func with<T: Sendable>(_ body: @Sendable (EVMChargeHarness) async throws -> T) async throws -> T {
        let chain = try DevChain(
            configuration: DevChainConfiguration(
                port: 0, blockTime: .zero, automine: true,
                tokens: [TokenConfiguration(address: tokenAddress, name: "USD Coin", symbol: "USDC")]))
        let (chainPorts, chainSink) = AsyncStream.makeStream(of: Int.self)
        let chainApp = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { chainSink.yield(DevChainServer.boundPort($0) ?? 0) })
        let chainGroup = ServiceGroup(configuration: .init(services: [chainApp], logger: logger))
        let chainTask = Task { try await chainGroup.run() }
        var appGroup: ServiceGroup?
        var appTask: Task<Void, any Error>?
        func stop() async {
            if let appGroup { await appGroup.triggerGracefulShutdown() }
            _ = try? await appTask?.value
            await chainGroup.triggerGracefulShutdown()
            _ = try? await chainTask.value
        }
        do {
            var chainIterator = chainPorts.makeAsyncIterator()
            guard let chainPort = await chainIterator.next(), chainPort > 0 else { throw HarnessFailure("the dev chain did not start") }
            let rpc = EthereumRPC(url: "http://127.0.0.1:\(chainPort)", configuration: .init(timeout: .seconds(10), maxAttempts: 1))
            let ledger = try await TestDatabase.ledger()
            let tag = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let merchant = try AccountID("merchant:mpp-evm:\(tag)")
            let payTo = PrivateKey.random().address
            let facilitator = X402Facilitator(
                configuration: X402FacilitatorConfiguration(
                    tokens: [token], signer: facilitatorKey, receiptPollInterval: .milliseconds(10),
                    merchantAccounts: [payTo.lowercased: merchant], railID: "x402-mpp-evm-tests"),
                rpc: rpc, store: X402SettlementStore(client: ledger.client, logger: logger), booker: RailBooker(ledger: ledger),
                logger: logger)
            let method = EVMChargeMethod(facilitator: facilitator, token: token, recipient: payTo, logger: logger)
            let server = MPPServer(
                configuration: MPPServerConfiguration(realm: realm, secrets: try ChallengeSecrets(["mpp-evm-tests-secret-\(tag)"])),
                proofs: MPPProofStore(client: ledger.client, logger: logger))
            let served = Counter()
            let router = Router(context: BasicRequestContext.self)
            let paid = router.group().add(
                middleware: MPPMiddleware<BasicRequestContext>(
                    server: server,
                    routes: [
                        MPPRoute(path: "/paid", methods: [.get], offers: [method.offer(amount: price)], merchantAccount: merchant.rawValue)
                    ]))
            paid.get("/paid") { _, _ in
                served.value.withLock { $0 += 1 }
                return "paid content"
            }
            let (appPorts, appSink) = AsyncStream.makeStream(of: Int.self)
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { appSink.yield($0.localAddress?.port ?? 0) }, logger: logger)
            let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
            appGroup = group
            appTask = Task { try await group.run() }
            var appIterator = appPorts.makeAsyncIterator()
            guard let appPort = await appIterator.next(), appPort > 0 else { throw HarnessFailure("the app did not start") }
            let harness = EVMChargeHarness(
                url: "http://127.0.0.1:\(appPort)/paid", rpc: rpc, ledger: ledger, merchant: merchant, payTo: payTo, served: served)
            let result = try await body(harness)
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }

    var servedCount: Int { served.value.withLock { $0 } }

    /// A payer key holding `tokens` base units, funded through `devchain_fund`.
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

    /// Credits posted and pending on the merchant's account (zero when nothing was ever booked).
    func merchantBalance() async throws -> (posted: Ledger.UInt256, pending: Ledger.UInt256) {
        do {
            let balance = try await ledger.balance(of: merchant)
            return (balance.creditsPosted, balance.creditsPending)
        } catch  where error.code == .accountNotFound {
            return (.zero, .zero)
        }
    }

    // MARK: HTTP

    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String

        var problemSlug: String? {
            guard let data = body.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let type = object["type"] as? String
            else { return nil }
            return type.split(separator: "/").last.map(String.init)
        }

        var challenges: [PaymentChallenge] {
            headers["WWW-Authenticate"].flatMap { (try? PaymentChallenge.parse(wwwAuthenticate: $0)) ?? [] }
        }
    }

    func get(authorization: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }

    /// The payload pympp's client signs for `challenge`, with every field overridable to make bad ones.
    static func payload(
        _ challenge: PaymentChallenge, key: PrivateKey, to: Address, value: EVM.UInt256 = EVMChargeHarness.price, validAfter: UInt64 = 0,
        validBefore: UInt64? = nil, nonce: Hash32? = nil, domain: TokenDomain = EVMChargeHarness.token.domain, signer: PrivateKey? = nil
    ) -> [String: MPP.JSONValue] {
        let expires = challenge.expires.flatMap(ChallengeExpiry.parse).map { UInt64($0.timeIntervalSince1970) } ?? 0
        let authorization = TransferWithAuthorization(
            from: key.address, to: to, value: value, validAfter: EVM.UInt256(validAfter), validBefore: EVM.UInt256(validBefore ?? expires),
            nonce: nonce ?? EVMChargeMethod.challengeHash(id: challenge.id, realm: challenge.realm))
        let signature = authorization.sign(with: signer ?? key, in: domain)
        return [
            "type": .string("authorization"), "from": .string(key.address.checksummed), "to": .string(to.checksummed),
            "value": .string(value.description), "validAfter": .string(String(validAfter)),
            "validBefore": .string(authorization.validBefore.description), "nonce": .string(authorization.nonce.hex),
            "signature": .string(signature.hex),
        ]
    }
}

struct HarnessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
