import DevChain
import EVM
import Foundation
import Ledger
import Logging
import RailKit
import ServiceLifecycle
import SettleTesting
import TempoRail
import Testing

/// The Tempo rail against an in-process Tempo dev chain: charges (one sponsored by the merchant),
/// and v1, v2 and force-closed session channels, booked so that every escrow account clears.
@Suite("Tempo rail")
struct TempoRailTests {
    static let pathUSD = TokenConfiguration.pathUSD.address
    static let v1 = TempoChannelEscrow.v1ModeratoAddress
    static let v2 = TempoChannelEscrow.v2Address
    static let payer = TestAccounts.privateKeys[1]
    static let merchant = TestAccounts.privateKeys[2]

    static func withChain<T: Sendable>(
        _ configure: (inout DevChainConfiguration) -> Void = { _ in }, _ body: @Sendable (DevChain, String) async throws -> T
    ) async throws -> T {
        var configuration = DevChainConfiguration.tempo(port: 0)
        configuration.blockTime = .zero
        configuration.automine = true
        configure(&configuration)
        let chain = try DevChain(configuration: configuration)
        var logger = Logger(label: "devchain")
        logger.logLevel = .warning
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { sink.yield(DevChainServer.boundPort($0) ?? 0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        do {
            let result = try await body(chain, "http://127.0.0.1:\(port)")
            await group.triggerGracefulShutdown()
            try await task.value
            return result
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
    }

    static func rail(url: String, tag: String, chainID: UInt64 = 42431) throws -> TempoRail {
        try TempoRail(
            configuration: RailConfiguration(
                id: "tempo-\(tag)", kind: "tempo",
                settings: [
                    "rpc_url": .string(url), "network": .string("eip155:\(chainID)"),
                    "tokens": .array([.string("pathusd-\(tag)=\(pathUSD.checksummed)=pathUSD")]),
                    "addresses": .array([.string(merchant.address.checksummed)]),
                    "sponsors": .array([.string(merchant.address.checksummed)]),
                ]), logger: TestDatabase.logger)
    }

    /// A rail of its own (its asset tagged, as the database is shared) installed in the test
    /// database. A token is one asset per network there: concurrent tests use their own chain id.
    static func installed(
        url: String, chainID: UInt64 = 42431
    ) async throws -> (ledger: PostgresLedger, tag: String, rail: TempoRail, booker: RailBooker) {
        let ledger = try await TestDatabase.ledger()
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let rail = try Self.rail(url: url, tag: tag, chainID: chainID)
        let booker = RailBooker(ledger: ledger)
        try await booker.install(rail.descriptor)
        return (ledger, tag, rail, booker)
    }

    /// A transaction on a fresh nonce lane (so equal calls are distinct transactions), paying its fee in pathUSD.
    static func transaction(_ calls: [(EVM.Address, [UInt8])], sponsored: Bool = false, chainID: UInt64 = 42431) -> TempoTransaction {
        TempoTransaction(
            chainID: chainID, maxPriorityFeePerGas: 0, maxFeePerGas: 20_000_000_000, gasLimit: 1_000_000,
            calls: calls.map { TempoCall(to: $0.0, input: $0.1) }, nonceKey: EVM.UInt256(UInt64.random(in: 1...UInt64.max)),
            feeToken: sponsored ? nil : pathUSD, isSponsored: sponsored)
    }

    @discardableResult
    static func send(_ chain: DevChain, _ signed: SignedTempoTransaction) async throws -> DevChainReceipt {
        let hash = try await chain.sendRawTransaction(signed.rawBytes)
        let receipt = try #require(await chain.receipt(hash))
        #expect(receipt.succeeded, "\(receipt.revertReason.map { "\($0)" } ?? "")")
        return receipt
    }

    static func voucher(_ version: TempoChannelEscrow, _ escrow: EVM.Address, _ id: Hash32, _ amount: EVM.UInt256) -> [UInt8] {
        payer.sign(
            digest: version.voucherDigest(channelID: id, cumulativeAmount: amount, domain: version.domain(chainID: 42431, escrow: escrow))
        )
        .bytes
    }

    static let descriptor = "(address,address,address,address,bytes32,address,bytes32)"

    @Test func chargesAndChannelsBookAndEscrowsClear() async throws {
        try await Self.withChain { chain, url in
            let (ledger, tag, rail, booker) = try await Self.installed(url: url)
            let merchant = Self.merchant.address

            // Two charges with memos, the second sponsored by the merchant.
            let memo = Keccak256.hash(Array("challenge-1".utf8))
            let transfer = { (amount: EVM.UInt256, memo: Hash32) in
                ABI.encodeCall("transferWithMemo(address,uint256,bytes32)", [.address(merchant), .uint(amount), .bytes32(memo)])
            }
            try await Self.send(chain, Self.transaction([(Self.pathUSD, transfer(250_000, memo))]).signed(with: Self.payer))
            let sponsored = try Self.transaction([(Self.pathUSD, transfer(100_000, Keccak256.hash(memo.bytes)))], sponsored: true)
                .signed(with: Self.payer).cosigned(by: Self.merchant, feeToken: Self.pathUSD)
            let sponsoredReceipt = try await Self.send(chain, sponsored)
            #expect(sponsoredReceipt.feePayer == merchant)

            // A v1 channel: open 600,000, top up 300,000, settle 100,000 then 250,000, close at 400,000.
            let salt = Keccak256.hash(Array(tag.utf8))
            let id1 = TempoChannelEscrow.v1ChannelID(
                payer: Self.payer.address, payee: merchant, token: Self.pathUSD, salt: salt, authorizedSigner: .zero, escrow: Self.v1,
                chainID: 42431)
            let approve = ABI.encodeCall("approve(address,uint256)", [.address(Self.v1), .uint(EVM.UInt256.max)])
            let open1 = ABI.encodeCall(
                "open(address,address,uint128,bytes32,address)",
                [.address(merchant), .address(Self.pathUSD), .uint(600_000), .bytes32(salt), .address(.zero)])
            try await Self.send(chain, Self.transaction([(Self.pathUSD, approve), (Self.v1, open1)]).signed(with: Self.payer))
            try await Self.send(
                chain,
                Self.transaction([(Self.v1, ABI.encodeCall("topUp(bytes32,uint128)", [.bytes32(id1), .uint(300_000)]))]).signed(
                    with: Self.payer))
            for amount: EVM.UInt256 in [100_000, 250_000] {
                let settle = ABI.encodeCall(
                    "settle(bytes32,uint128,bytes)", [.bytes32(id1), .uint(amount), .bytes(Self.voucher(.v1, Self.v1, id1, amount))])
                try await Self.send(chain, Self.transaction([(Self.v1, settle)]).signed(with: Self.merchant))
            }
            let close1 = ABI.encodeCall(
                "close(bytes32,uint128,bytes)", [.bytes32(id1), .uint(400_000), .bytes(Self.voucher(.v1, Self.v1, id1, 400_000))])
            try await Self.send(chain, Self.transaction([(Self.v1, close1)]).signed(with: Self.merchant))

            // A v2 channel: open 1,000,000, settle 200,000, top up 500,000, close capturing 650,000 of a 700,000 voucher.
            let open2 = ABI.encodeCall(
                "open(address,address,address,uint96,bytes32,address)",
                [.address(merchant), .address(.zero), .address(Self.pathUSD), .uint(1_000_000), .bytes32(salt), .address(.zero)])
            let openTransaction = Self.transaction([(Self.v2, open2)]).signed(with: Self.payer)
            try await Self.send(chain, openTransaction)
            let descriptor = TempoChannelDescriptor(
                payer: Self.payer.address, payee: merchant, operator: .zero, token: Self.pathUSD, salt: salt, authorizedSigner: .zero,
                expiringNonceHash: Keccak256.hash(openTransaction.transaction.senderPreimage + Self.payer.address.bytes))
            let id2 = descriptor.channelID(chainID: 42431)
            let d = descriptor.abiValues
            let settle2 = ABI.encodeCall(
                "settle(\(Self.descriptor),uint96,bytes)", d + [.uint(200_000), .bytes(Self.voucher(.v2, Self.v2, id2, 200_000))])
            try await Self.send(chain, Self.transaction([(Self.v2, settle2)]).signed(with: Self.merchant))
            try await Self.send(
                chain,
                Self.transaction([(Self.v2, ABI.encodeCall("topUp(\(Self.descriptor),uint96)", d + [.uint(500_000)]))]).signed(
                    with: Self.payer))
            let close2 = ABI.encodeCall(
                "close(\(Self.descriptor),uint96,uint96,bytes)",
                d + [.uint(700_000), .uint(650_000), .bytes(Self.voucher(.v2, Self.v2, id2, 700_000))])
            try await Self.send(chain, Self.transaction([(Self.v2, close2)]).signed(with: Self.merchant))

            // A v1 channel the payer closes by force: request, wait out the grace period, withdraw.
            let salt3 = Keccak256.hash(salt.bytes)
            let id3 = TempoChannelEscrow.v1ChannelID(
                payer: Self.payer.address, payee: merchant, token: Self.pathUSD, salt: salt3, authorizedSigner: .zero, escrow: Self.v1,
                chainID: 42431)
            let open3 = ABI.encodeCall(
                "open(address,address,uint128,bytes32,address)",
                [.address(merchant), .address(Self.pathUSD), .uint(50_000), .bytes32(salt3), .address(.zero)])
            try await Self.send(chain, Self.transaction([(Self.v1, open3)]).signed(with: Self.payer))
            try await Self.send(
                chain, Self.transaction([(Self.v1, ABI.encodeCall("requestClose(bytes32)", [.bytes32(id3)]))]).signed(with: Self.payer))
            _ = await chain.increaseTime(by: 901)
            try await Self.send(
                chain, Self.transaction([(Self.v1, ABI.encodeCall("withdraw(bytes32)", [.bytes32(id3)]))]).signed(with: Self.payer))

            // The rail's events: the merchant's opening balance first; the memo is the charge's parent reference.
            let page = try await rail.fetchNext(cursor: nil, pageSize: 100)
            let initial: UInt64 = 1_000_000_000_000
            #expect(page.events.first?.transition == "opening" && page.events.first?.amounts["amount"]?.description == String(initial))
            #expect(page.events.filter { $0.transition == "opening" }.count == 1)
            let charges = page.events.filter { $0.transition == "charge" }
            #expect(charges.map(\.parentReference) == [memo.hex, Keccak256.hash(memo.bytes).hex])
            // The merchant paid the fee of the charge it sponsored and of the five settle/close calls it sent.
            let fees = page.events.filter { $0.transition == "fee" }
            #expect(fees.count == 6)
            let feeTotal = fees.reduce(UInt64(0)) { $0 + UInt64($1.amounts["amount"]!.description)! }

            let report = try await booker.sync(rail)
            #expect(report.rejected.isEmpty && report.outOfOrder == nil, "\(report)")
            func balance(_ account: String) async throws -> Balance {
                try await ledger.balance(of: AccountID("tempo:pathusd-\(tag):\(account)"))
            }
            for id in [id1, id2, id3] {
                let escrow = try await balance("escrow:\(id.hex)")
                #expect(escrow.posted.description == "0" && !escrow.debitsPosted.isZero, "channel \(id): \(escrow)")
            }
            let deposits: UInt64 = 600_000 + 300_000 + 1_500_000 + 50_000
            let refunds: UInt64 = 500_000 + 850_000 + 50_000
            let settled: UInt64 = 400_000 + 650_000
            let payerAccount = try await balance("payer:\(Self.payer.address.lowercased)")
            // Settlements pay out of the payer's deposits too, so its account clears with the escrows.
            #expect(
                payerAccount.creditsPosted.description == String(deposits)
                    && payerAccount.debitsPosted.description == String(refunds + settled))
            #expect(settled + refunds == deposits)
            // No session server booked vouchers here: the settlements alone credit the channels' voucher accounts.
            let vouchers = try await balance("vouchers:\(id1.hex)")
            #expect(vouchers.creditsPosted.description == "400000" && vouchers.debitsPosted.isZero, "\(vouchers)")
            let wallet = try await balance("wallet:\(merchant.lowercased)")
            #expect(wallet.debitsPosted.description == String(initial + 350_000 + settled))
            #expect(wallet.creditsPosted.description == String(feeTotal))
            #expect(try await balance("fees").debitsPosted.description == String(feeTotal))
            // The merchant's wallet account moved exactly as its balance on chain did.
            let onChain = try await chain.tokenBalance(token: Self.pathUSD, owner: merchant)
            #expect(onChain == EVM.UInt256(initial + 350_000 + settled - feeTotal))
            #expect(wallet.posted.description == onChain.description)
            #expect(try await ledger.verify().passed)
            // A restarted rail resumes from the stored cursor and books nothing twice.
            let restarted = try Self.rail(url: url, tag: tag)
            #expect(try await booker.sync(restarted).created == 0)
            // The chain's own records: one per booked movement, under the same references (the opening is no movement).
            let statement = try await restarted.statement(
                from: Date(timeIntervalSince1970: 0), to: Date().addingTimeInterval(86_400), cursor: nil, pageSize: 100)
            let movements = page.events.filter { $0.transition != "opening" }
            #expect(statement.records.map(\.reference).sorted() == movements.map(\.reference).sorted())
            #expect(statement.records.filter { $0.type == "refund" }.map(\.amount.description).sorted() == ["50000", "500000", "850000"])
        }
    }

    @Test func badConfigurationIsRefused() {
        func make(_ settings: Metadata) -> RailError.Code? {
            do {
                _ = try TempoRail(
                    configuration: RailConfiguration(id: "tempo", kind: "tempo", settings: settings), logger: TestDatabase.logger)
                return nil
            } catch { return error.code }
        }
        let good: Metadata = [
            "rpc_url": .string("http://127.0.0.1:8545"), "network": .string("eip155:42431"),
            "tokens": .array([.string("pathusd=\(Self.pathUSD.checksummed)=pathUSD")]),
            "addresses": .array([.string(Self.merchant.address.checksummed)]),
        ]
        #expect(make(good) == nil)
        for (key, value) in [
            ("network", JSONValue.string("tempo")), ("rpc_url", .string("ws://x")), ("tokens", .array([.string("pathusd=0x12=pathUSD")])),
            ("addresses", .array([])), ("escrows", .array([.string("v3=\(Self.v2.checksummed)")])),
        ] {
            var settings = good
            settings[key] = value
            #expect(make(settings) == .invalidConfiguration, "\(key)")
        }
    }
}
