import DevChain
import EVM
import Foundation
import Ledger
import Logging
import MPP
import MPPEVM
import MPPTesting
import RailKit
import ServiceLifecycle
import SettleTesting
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
    static let logger: Logger = {
        var logger = Logger(label: "mpp-evm-tests")
        logger.logLevel = .critical
        return logger
    }()

    let app: MPPTestApp
    let rpc: EthereumRPC
    let ledger: PostgresLedger
    let merchant: AccountID
    let payTo: Address

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
        var app: MPPTestApp?
        func stop() async {
            await app?.stop()
            await chainGroup.triggerGracefulShutdown()
            _ = try? await chainTask.value
        }
        do {
            var chainIterator = chainPorts.makeAsyncIterator()
            guard let chainPort = await chainIterator.next(), chainPort > 0 else { throw MPPTestFailure("the dev chain did not start") }
            let rpc = EthereumRPC(url: "http://127.0.0.1:\(chainPort)", configuration: .init(timeout: HangGuard.duration, maxAttempts: 1))
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
            let started = try await MPPTestApp.start(
                offers: [method.offer(amount: price)], merchantAccount: merchant.rawValue,
                proofs: MPPProofStore(client: ledger.client, logger: logger), secret: "mpp-evm-tests-secret-\(tag)", logger: logger)
            app = started
            let harness = EVMChargeHarness(app: started, rpc: rpc, ledger: ledger, merchant: merchant, payTo: payTo)
            let result = try await body(harness)
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }

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
