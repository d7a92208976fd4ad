import DevChain
import ERC20Rail
import EVM
import Foundation
import Ledger
import Logging
import RailKit
import ServiceLifecycle
import SettleTesting
import Testing

/// The ERC-20 rail against an in-process dev chain: transfers to a watched address are held while
/// seen, posted once `confirmations` deep, voided when a reorg removes them, resumed from the
/// stored cursor without missing or double-booking a log.
@Suite("ERC-20 rail", .timeLimit(.minutes(2)))
struct ERC20RailTests {
    static let usdc = TokenConfiguration.usdc.address
    static let payer = TestAccounts.privateKeys[1]

    /// Runs `body` with a dev chain (default: automine, each transaction is its own block) on a free port.
    static func withChain<T: Sendable>(
        _ configuration: DevChainConfiguration = DevChainConfiguration(port: 0, blockTime: .zero, automine: true),
        _ body: @Sendable (DevChain, String) async throws -> T
    ) async throws -> T {
        let chain = try DevChain(configuration: configuration)
        var logger = Logger(label: "devchain")
        logger.logLevel = .warning
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { sink.yield(DevChainServer.boundPort($0) ?? 0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            do {
                let result = try await body(chain, "http://127.0.0.1:\(port)")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }

    /// The rail on `chainID`'s network: a test sharing the database with this suite uses a chain id
    /// of its own, since an asset is unique per (network, token).
    static func rail(url: String, merchant: EVM.Address, tag: String, chainID: UInt64 = 31337, startBlock: UInt64 = 0) throws
        -> ERC20Rail
    {
        try ERC20Rail(
            configuration: RailConfiguration(
                id: "erc20-\(tag)", kind: "erc20",
                settings: [
                    "rpc_url": .string(url), "network": .string("eip155:\(chainID)"),
                    "tokens": .array([.string("usdc-\(tag)=\(usdc.checksummed)=USDC=6")]),
                    "addresses": .array([.string(merchant.checksummed)]), "confirmations": .number("5"),
                    "payers": .array([.string(payer.address.checksummed)]), "native_asset": .string("eth-\(tag)=ETH=18"),
                    "start_block": .number(String(startBlock)),
                ]), logger: TestDatabase.logger)
    }

    /// Sends `amount` USDC from `from` (default: the payer) to `to`; mined at once (automine).
    @discardableResult
    static func pay(
        _ chain: DevChain, from payer: EVM.PrivateKey = payer, to: EVM.Address, _ amount: UInt64, chainID: UInt64 = 31337
    ) async throws -> Hash32 {
        let nonce = try await chain.transactionCount(of: payer.address, at: .pending)
        let transaction = EIP1559Transaction(
            chainID: chainID, nonce: nonce, maxPriorityFeePerGas: 1_000_000_000, maxFeePerGas: 3_000_000_000, gasLimit: 100_000, to: usdc,
            value: .zero, data: ABI.encodeCall("transfer(address,uint256)", [.address(to), .uint(EVM.UInt256(amount))]))
        return try await chain.sendRawTransaction(transaction.signed(with: payer).rawBytes)
    }

    static func balance(_ ledger: PostgresLedger, _ account: String) async throws -> Balance {
        try await ledger.balance(of: AccountID(account))
    }

    @Test func seenThenFinalThenReorgedAndResumedFromTheCursor() async throws {
        try await Self.withChain { chain, url in
            let ledger = try await TestDatabase.ledger()
            let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
            let merchant = try EVM.PrivateKey(bytes: (0..<32).map { _ in UInt8.random(in: 1...255) }).address
            let rail = try Self.rail(url: url, merchant: merchant, tag: tag)
            let booker = RailBooker(ledger: ledger)
            try await booker.install(rail.descriptor)
            let wallet = "evm:usdc-\(tag):wallet:\(merchant.lowercased)"
            let incoming = "evm:usdc-\(tag):incoming:\(merchant.lowercased)"

            for amount: UInt64 in [1_000, 2_000, 3_000] { try await Self.pay(chain, to: merchant, amount) }
            var report = try await booker.sync(rail)
            #expect(report.created == 3 && report.rejected.isEmpty, "\(report)")
            // Seen, not final: held.
            var w = try await Self.balance(ledger, wallet)
            #expect(w.debitsPending.description == "6000" && w.debitsPosted.isZero)

            // Five blocks deep: posted; the payer's gas is booked in ETH.
            _ = try await chain.mine(blocks: 5)
            report = try await booker.sync(rail)
            #expect(report.created == 6, "\(report)")  // 3 posts + 3 gas
            w = try await Self.balance(ledger, wallet)
            #expect(w.debitsPosted.description == "6000" && w.debitsPending.isZero)
            // Nothing matched it yet (no x402 settlement debited it): the clearing account shows it.
            #expect(try await Self.balance(ledger, incoming).posted.description == "-6000")
            let gas = try await Self.balance(ledger, "evm:eth-\(tag):gas")
            #expect(!gas.debitsPosted.isZero)

            // A transfer whose block is reorganized away before it is final: voided.
            try await Self.pay(chain, to: merchant, 500)
            #expect(try await booker.sync(rail).created == 1)
            _ = try await chain.reorg(depth: 1, requeue: false)
            report = try await booker.sync(rail)
            #expect(report.created == 1, "\(report)")  // the void
            w = try await Self.balance(ledger, wallet)
            #expect(w.debitsPending.isZero && w.debitsPosted.description == "6000")

            // Re-mined in a replacement block: the old inclusion is voided, the new one is held.
            try await Self.pay(chain, to: merchant, 700)
            #expect(try await booker.sync(rail).created == 1)
            _ = try await chain.reorg(depth: 1, requeue: true)
            _ = try await chain.mine(blocks: 1)
            report = try await booker.sync(rail)
            #expect(report.created == 2, "\(report)")  // void of the old, hold of the new
            w = try await Self.balance(ledger, wallet)
            #expect(w.debitsPending.description == "700")

            // A new rail instance (a restart) resumes from the stored cursor: nothing booked twice,
            // nothing missed.
            let restarted = try Self.rail(url: url, merchant: merchant, tag: tag)
            _ = try await chain.mine(blocks: 5)
            report = try await booker.sync(restarted)
            #expect(report.rejected.isEmpty && report.outOfOrder == nil, "\(report)")
            w = try await Self.balance(ledger, wallet)
            #expect(w.debitsPosted.description == "6700" && w.debitsPending.isZero)
            #expect(try await booker.sync(restarted).created == 0)
            #expect(try await ledger.verify().passed)

            // The chain's own records of the window, for reconciliation: the four final transfers.
            let statement = try await restarted.statement(
                from: Date(timeIntervalSince1970: 0), to: Date().addingTimeInterval(86_400 * 365), cursor: nil, pageSize: 100)
            let final = statement.records.filter { $0.status == "final" }
            #expect(final.map(\.amount.description).sorted() == ["1000", "2000", "3000", "700"])
        }
    }

    @Test func badConfigurationIsRefused() {
        func make(_ settings: Metadata) -> RailError.Code? {
            do {
                _ = try ERC20Rail(
                    configuration: RailConfiguration(id: "erc20", kind: "erc20", settings: settings), logger: TestDatabase.logger)
                return nil
            } catch { return error.code }
        }
        let good: Metadata = [
            "rpc_url": .string("http://127.0.0.1:8545"), "network": .string("eip155:31337"),
            "tokens": .array([.string("usdc=\(Self.usdc.checksummed)=USDC=6")]), "addresses": .array([.string(Self.usdc.checksummed)]),
        ]
        #expect(make(good) == nil)
        for (key, value) in [
            ("network", JSONValue.string("solana:1")), ("rpc_url", .string("ws://x")), ("tokens", .array([.string("usdc=0x12=USDC=6")])),
            ("addresses", .array([])), ("confirmations", .number("0")), ("payers", .array([.string(Self.usdc.checksummed)])),
        ] {
            var settings = good
            settings[key] = value
            #expect(make(settings) == .invalidConfiguration, "\(key)")
        }
    }
}
