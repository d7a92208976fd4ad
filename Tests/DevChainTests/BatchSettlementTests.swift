import DevChain
import EVM
import Foundation
import Testing

/// x402's `x402BatchSettlement` and its ERC-3009 deposit collector, run natively by the dev chain:
/// each rule of the contract, driven through signed transactions and `eth_call`.
struct BatchSettlementTests {
    static let usdc = TokenConfiguration.usdc.address
    static let contract = BatchSettlement.address
    static let keys = TestAccounts.privateKeys
    static let payer = keys[1]
    static let receiver = keys[2]
    static let authorizer = keys[3]
    static let stranger = keys[4]
    static let t0: UInt64 = 1_800_000_000

    /// A chain with automine, its clock starting at ``t0``, and a channel config from payer to receiver.
    struct Fixture {
        let chain: DevChain
        let config: BatchChannelConfig
        var domain: TokenDomain { BatchSettlement.domain(chainID: chain.chainID) }
        var id: Hash32 { config.channelID(in: domain) }

        init(payerAuthorizer: Address = .zero, delay: UInt64 = 900) throws {
            chain = try DevChain(configuration: .init(port: 0, blockTime: .zero, automine: true, genesisTimestamp: t0), wallClock: { t0 })
            config = BatchChannelConfig(
                payer: payer.address, payerAuthorizer: payerAuthorizer, receiver: receiver.address, receiverAuthorizer: authorizer.address,
                token: usdc, withdrawDelay: delay, salt: Keccak256.hash("salt"))
        }

        /// Sends a transaction and returns its receipt.
        func send(_ key: PrivateKey, _ data: [UInt8], to: Address = BatchSettlementTests.contract) async throws -> DevChainReceipt {
            let nonce = try await chain.transactionCount(of: key.address, at: .pending)
            let tx = EIP1559Transaction(
                chainID: chain.chainID, nonce: nonce, maxPriorityFeePerGas: 1_000_000_000, maxFeePerGas: 3_000_000_000, gasLimit: 1_000_000,
                to: to, value: .zero, data: data)
            let hash = try await chain.sendRawTransaction(tx.signed(with: key).rawBytes)
            return try #require(await chain.receipt(hash))
        }

        func view(_ signature: String, _ arguments: [ABIValue], _ types: [ABIType]) async throws -> [ABIValue] {
            try ABI.decode(types, from: try await chain.call(to: BatchSettlementTests.contract, data: ABI.encodeCall(signature, arguments)))
        }

        /// `channels(id)`: (balance, totalClaimed).
        func channel() async throws -> [UInt256] {
            try await view("channels(bytes32)", [.bytes32(id)], [.uint(bits: 128), .uint(bits: 128)]).map { $0.uint! }
        }

        func refundNonce() async throws -> UInt256 {
            try await view("refundNonce(bytes32)", [.bytes32(id)], [.uint256])[0].uint!
        }

        func balance(_ owner: Address) async throws -> UInt256 {
            try await chain.tokenBalance(token: BatchSettlementTests.usdc, owner: owner)
        }

        /// `deposit` calldata through the ERC-3009 collector, signed by `signer` (the payer by default).
        func deposit(
            _ amount: UInt256, salt: UInt256 = 7, signer: PrivateKey = BatchSettlementTests.payer, config: BatchChannelConfig? = nil,
            collector: Address = BatchSettlement.erc3009DepositCollector
        ) -> [UInt8] {
            let config = config ?? self.config
            let validBefore = UInt256(t0 + 3_600)
            let authorization = ReceiveWithAuthorization(
                from: config.payer, to: BatchSettlement.erc3009DepositCollector, value: amount, validAfter: 0, validBefore: validBefore,
                nonce: BatchSettlement.erc3009DepositNonce(channelID: config.channelID(in: domain), salt: salt))
            let signature = authorization.sign(with: signer, in: TokenConfiguration.usdc.domain(chainID: chain.chainID))
            let collectorData = ABI.encode([.uint(0), .uint(validBefore), .uint(salt), .bytes(signature.bytes)])
            return ABI.encodeCall(
                "deposit(\(BatchChannelConfig.abiType),uint128,address,bytes)",
                [config.abiValue, .uint(amount), .address(collector), .bytes(collectorData)])
        }

        func voucher(_ ceiling: UInt256, signer: PrivateKey = BatchSettlementTests.payer) -> [UInt8] {
            signer.sign(digest: BatchSettlement.voucherDigest(channelID: id, maxClaimableAmount: ceiling, domain: domain)).bytes
        }

        /// A `VoucherClaim` row.
        func row(_ ceiling: UInt256, claimed: UInt256, signature: [UInt8]? = nil, config: BatchChannelConfig? = nil) -> ABIValue {
            .tuple([.tuple([(config ?? self.config).abiValue, .uint(ceiling)]), .bytes(signature ?? voucher(ceiling)), .uint(claimed)])
        }

        func claimWithSignature(_ rows: [(ceiling: UInt256, claimed: UInt256)], signer: PrivateKey = BatchSettlementTests.authorizer)
            -> [UInt8]
        {
            let entries = rows.map { BatchSettlement.ClaimEntry(channelID: id, maxClaimableAmount: $0.ceiling, totalClaimed: $0.claimed) }
            let signature = signer.sign(digest: BatchSettlement.claimBatchDigest(entries, domain: domain))
            return ABI.encodeCall(
                "claimWithSignature(\(Self.claimsType),bytes)",
                [.array(rows.map { row($0.ceiling, claimed: $0.claimed) }), .bytes(signature.bytes)])
        }

        static let claimsType = "(((\(BatchChannelConfig.abiType.description.dropFirst().dropLast())),uint128),bytes,uint128)[]"

        func refundWithSignature(_ amount: UInt256, nonce: UInt256, signer: PrivateKey = BatchSettlementTests.authorizer) -> [UInt8] {
            let signature = signer.sign(digest: BatchSettlement.refundDigest(channelID: id, nonce: nonce, amount: amount, domain: domain))
            return ABI.encodeCall(
                "refundWithSignature(\(BatchChannelConfig.abiType),uint128,uint256,bytes)",
                [config.abiValue, .uint(amount), .uint(nonce), .bytes(signature.bytes)])
        }

        func configCall(_ name: String, _ rest: [ABIValue] = [], _ restTypes: String = "") -> [UInt8] {
            ABI.encodeCall("\(name)(\(BatchChannelConfig.abiType)\(restTypes))", [config.abiValue] + rest)
        }
    }

    static func expectRevert(_ receipt: DevChainReceipt, _ error: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!receipt.succeeded, sourceLocation: sourceLocation)
        #expect(
            Array((receipt.revertData ?? []).prefix(4)) == ABI.selector(error), "\(Hex.encode(receipt.revertData ?? []))",
            sourceLocation: sourceLocation)
    }

    static func topic(_ log: DevChainLog) -> Hash32 { log.topics[0] }

    @Test func depositThroughTheERC3009CollectorOpensTheChannel() async throws {
        let f = try Fixture()
        #expect(await f.chain.hasCode(Self.contract))
        #expect(await f.chain.hasCode(BatchSettlement.erc3009DepositCollector))
        let computed = try await f.view("getChannelId(\(BatchChannelConfig.abiType))", [f.config.abiValue], [.bytes32])
        #expect(computed[0].bytes32 == f.id)
        let before = try await f.balance(Self.payer.address)

        let receipt = try await f.send(Self.stranger, f.deposit(1_000_000))
        #expect(receipt.succeeded, "\(receipt.revertReason.map { "\($0)" } ?? "")")
        #expect(try await f.balance(Self.payer.address) == before - 1_000_000)
        #expect(try await f.balance(Self.contract) == 1_000_000)
        #expect(try await f.balance(BatchSettlement.erc3009DepositCollector) == 0)
        #expect(try await f.channel() == [1_000_000, 0])
        let events = receipt.logs.filter { $0.address == Self.contract }.map(Self.topic)
        #expect(
            events == [
                ABI.eventTopic("ChannelCreated(bytes32,\(BatchChannelConfig.abiType))"),
                ABI.eventTopic("Deposited(bytes32,address,uint128,uint128)"),
            ])
        let deposited = try #require(receipt.logs.last)
        #expect(deposited.topics[1] == f.id && deposited.topics[2] == Self.stranger.address.word)
        #expect(try ABI.decode([.uint256, .uint256], from: deposited.data) == [.uint(1_000_000), .uint(1_000_000)])

        // A top-up: no second ChannelCreated.
        let topUp = try await f.send(Self.stranger, f.deposit(500_000, salt: 8))
        #expect(
            topUp.logs.filter { $0.address == Self.contract }.map(Self.topic) == [
                ABI.eventTopic("Deposited(bytes32,address,uint128,uint128)")
            ])
        #expect(try await f.channel() == [1_500_000, 0])
    }

    @Test func depositRules() async throws {
        let f = try Fixture()
        Self.expectRevert(try await f.send(Self.payer, f.deposit(0)), "ZeroDeposit()")
        var noAuthorizer = f.config
        noAuthorizer.receiverAuthorizer = .zero
        Self.expectRevert(try await f.send(Self.payer, f.deposit(10, config: noAuthorizer)), "InvalidChannel()")
        var shortDelay = f.config
        shortDelay.withdrawDelay = 899
        Self.expectRevert(try await f.send(Self.payer, f.deposit(10, config: shortDelay)), "WithdrawDelayOutOfRange()")
        Self.expectRevert(try await f.send(Self.payer, f.deposit(10, collector: .zero)), "InvalidCollector()")
        // Signed by someone else than the payer: the token refuses the authorization.
        let forged = try await f.send(Self.payer, f.deposit(10, signer: Self.stranger))
        let forgedReason = forged.revertReason.map { "\($0)" } ?? ""
        #expect(!forged.succeeded)
        #expect(forgedReason.hasSuffix("invalid signature"), "\(forgedReason)")
        // ERC-3009 collector data sent to the Permit2 collector does not decode: a revert without data.
        let permit2 = try await f.send(Self.payer, f.deposit(10, collector: BatchSettlement.permit2DepositCollector))
        #expect(!permit2.succeeded && permit2.revertData == [])
        // The same authorization twice: the token's nonce is used.
        #expect(try await f.send(Self.payer, f.deposit(10)).succeeded)
        #expect(try await f.send(Self.payer, f.deposit(10)).succeeded == false)
        #expect(try await f.channel() == [10, 0])
        // Only the settlement contract may call the collector.
        let direct = try await f.send(
            Self.payer,
            ABI.encodeCall(
                "collect(address,address,uint256,bytes32,bytes)",
                [
                    .address(Self.payer.address), .address(Self.usdc), .uint(1), .bytes32(f.id), .bytes([]),
                ]), to: BatchSettlement.erc3009DepositCollector)
        Self.expectRevert(direct, "OnlyX402BatchSettlement()")
    }

    @Test func claimWithTheAuthorizersSignatureThenSettle() async throws {
        let f = try Fixture()
        #expect(try await f.send(Self.payer, f.deposit(1_000)).succeeded)

        let claimed = try await f.send(Self.stranger, f.claimWithSignature([(ceiling: 300, claimed: 250)]))
        #expect(claimed.succeeded, "\(claimed.revertReason.map { "\($0)" } ?? "")")
        #expect(try await f.channel() == [1_000, 250])
        let claimLog = try #require(claimed.logs.last)
        #expect(claimLog.topics[0] == ABI.eventTopic("Claimed(bytes32,address,uint128,uint128)"))
        #expect(try ABI.decode([.uint256, .uint256], from: claimLog.data) == [.uint(250), .uint(250)])
        let totals = try await f.view(
            "receivers(address,address)", [.address(Self.receiver.address), .address(Self.usdc)], [.uint256, .uint256])
        #expect(totals == [.uint(250), .uint(0)])

        // Replaying it is a no-op; claiming more than the voucher's ceiling or the balance is refused.
        let replay = try await f.send(Self.stranger, f.claimWithSignature([(ceiling: 300, claimed: 250)]))
        #expect(replay.succeeded && replay.logs.isEmpty)
        Self.expectRevert(try await f.send(Self.stranger, f.claimWithSignature([(ceiling: 300, claimed: 301)])), "ClaimExceedsCeiling()")
        Self.expectRevert(
            try await f.send(Self.stranger, f.claimWithSignature([(ceiling: 2_000, claimed: 1_001)])), "ClaimExceedsBalance()")
        Self.expectRevert(
            try await f.send(Self.stranger, f.claimWithSignature([(ceiling: 400, claimed: 400)], signer: Self.stranger)),
            "InvalidSignature()")
        Self.expectRevert(
            try await f.send(Self.stranger, ABI.encodeCall("claimWithSignature(\(Fixture.claimsType),bytes)", [.array([]), .bytes([])])),
            "EmptyBatch()")

        // A plain `claim` is for the receiver side only, and checks the payer's voucher signature.
        let row = f.row(400, claimed: 400)
        Self.expectRevert(
            try await f.send(Self.stranger, ABI.encodeCall("claim(\(Fixture.claimsType))", [.array([row])])), "NotAuthorizedToClaim()")
        let forgedRow = f.row(400, claimed: 400, signature: f.voucher(400, signer: Self.stranger))
        Self.expectRevert(
            try await f.send(Self.receiver, ABI.encodeCall("claim(\(Fixture.claimsType))", [.array([forgedRow])])), "InvalidSignature()")
        #expect(try await f.send(Self.receiver, ABI.encodeCall("claim(\(Fixture.claimsType))", [.array([row])])).succeeded)

        let receiverBefore = try await f.balance(Self.receiver.address)
        let settled = try await f.send(
            Self.stranger, ABI.encodeCall("settle(address,address)", [.address(Self.receiver.address), .address(Self.usdc)]))
        #expect(settled.succeeded)
        #expect(try await f.balance(Self.receiver.address) == receiverBefore + 400)
        #expect(try await f.balance(Self.contract) == 600)
        let settledLog = try #require(settled.logs.last)
        #expect(
            settledLog.topics == [
                ABI.eventTopic("Settled(address,address,address,uint128)"), Self.receiver.address.word, Self.usdc.word,
                Self.stranger.address.word,
            ])
        // Nothing left to settle: no transfer, no event.
        let again = try await f.send(
            Self.stranger, ABI.encodeCall("settle(address,address)", [.address(Self.receiver.address), .address(Self.usdc)]))
        #expect(again.succeeded && again.logs.isEmpty)
        // The channel keeps its balance: what is claimed stays counted in it.
        #expect(try await f.channel() == [1_000, 400])
    }

    @Test func vouchersOfAPayerAuthorizerAreCheckedWithPlainECDSA() async throws {
        let delegate = Self.keys[5]
        let f = try Fixture(payerAuthorizer: delegate.address)
        #expect(try await f.send(Self.payer, f.deposit(100)).succeeded)
        let byPayer = f.row(50, claimed: 50, signature: f.voucher(50, signer: Self.payer))
        Self.expectRevert(
            try await f.send(Self.receiver, ABI.encodeCall("claim(\(Fixture.claimsType))", [.array([byPayer])])), "InvalidSignature()")
        let short = f.row(50, claimed: 50, signature: Array(f.voucher(50, signer: delegate).prefix(64)))
        Self.expectRevert(
            try await f.send(Self.receiver, ABI.encodeCall("claim(\(Fixture.claimsType))", [.array([short])])),
            "ECDSAInvalidSignatureLength(uint256)")
        let byDelegate = f.row(50, claimed: 50, signature: f.voucher(50, signer: delegate))
        #expect(try await f.send(Self.receiver, ABI.encodeCall("claim(\(Fixture.claimsType))", [.array([byDelegate])])).succeeded)
        #expect(try await f.channel() == [100, 50])
    }

    @Test func cooperativeRefundWithNonce() async throws {
        let f = try Fixture()
        #expect(try await f.send(Self.payer, f.deposit(1_000)).succeeded)
        #expect(try await f.send(Self.stranger, f.claimWithSignature([(ceiling: 300, claimed: 300)])).succeeded)
        let payerBefore = try await f.balance(Self.payer.address)

        Self.expectRevert(try await f.send(Self.stranger, f.refundWithSignature(100, nonce: 1)), "InvalidRefundNonce()")
        Self.expectRevert(
            try await f.send(Self.stranger, f.refundWithSignature(100, nonce: 0, signer: Self.stranger)), "InvalidSignature()")
        Self.expectRevert(try await f.send(Self.stranger, f.refundWithSignature(0, nonce: 0)), "ZeroRefund()")
        let refunded = try await f.send(Self.stranger, f.refundWithSignature(200, nonce: 0))
        #expect(refunded.succeeded)
        #expect(try await f.refundNonce() == 1)
        #expect(try await f.channel() == [800, 300])
        #expect(try await f.balance(Self.payer.address) == payerBefore + 200)
        // A stale nonce is refused; a direct refund by a stranger too; the receiver's is capped to what is unclaimed.
        Self.expectRevert(try await f.send(Self.stranger, f.refundWithSignature(200, nonce: 0)), "InvalidRefundNonce()")
        Self.expectRevert(try await f.send(Self.stranger, f.configCall("refund", [.uint(1)], ",uint128")), "NotAuthorizedToRefund()")
        let rest = try await f.send(Self.receiver, f.configCall("refund", [.uint(10_000)], ",uint128"))
        #expect(rest.succeeded)
        #expect(try await f.channel() == [300, 300])
        #expect(try await f.balance(Self.payer.address) == payerBefore + 700)
        // Nothing left: the nonce still advances, no event.
        let empty = try await f.send(Self.receiver, f.configCall("refund", [.uint(1)], ",uint128"))
        #expect(empty.succeeded && empty.logs.isEmpty)
        #expect(try await f.refundNonce() == 3)
    }

    @Test func timedWithdrawal() async throws {
        let f = try Fixture()
        #expect(try await f.send(Self.payer, f.deposit(1_000)).succeeded)
        Self.expectRevert(try await f.send(Self.stranger, f.configCall("initiateWithdraw", [.uint(100)], ",uint128")), "InvalidChannel()")
        Self.expectRevert(try await f.send(Self.payer, f.configCall("initiateWithdraw", [.uint(0)], ",uint128")), "NothingToWithdraw()")
        Self.expectRevert(
            try await f.send(Self.payer, f.configCall("initiateWithdraw", [.uint(1_001)], ",uint128")), "WithdrawAmountExceedsAvailable()")
        Self.expectRevert(try await f.send(Self.payer, f.configCall("finalizeWithdraw")), "WithdrawalNotPending()")
        let initiated = try await f.send(Self.payer, f.configCall("initiateWithdraw", [.uint(1_000)], ",uint128"))
        #expect(initiated.succeeded)
        let start = try #require(await f.chain.block(number: initiated.blockNumber)).timestamp
        #expect(try ABI.decode([.uint256, .uint256], from: initiated.logs[0].data) == [.uint(1_000), .uint(UInt256(start + 900))])
        let pending = try await f.view("pendingWithdrawals(bytes32)", [.bytes32(f.id)], [.uint256, .uint256])
        #expect(pending == [.uint(1_000), .uint(UInt256(start))])
        Self.expectRevert(
            try await f.send(Self.payer, f.configCall("initiateWithdraw", [.uint(1)], ",uint128")), "WithdrawalAlreadyPending()")
        Self.expectRevert(try await f.send(Self.payer, f.configCall("finalizeWithdraw")), "WithdrawDelayNotElapsed()")
        Self.expectRevert(try await f.send(Self.stranger, f.configCall("finalizeWithdraw")), "NotAuthorizedToFinalizeWithdraw()")

        // The receiver claims during the window: the withdrawal is capped to what stays unclaimed.
        #expect(try await f.send(Self.stranger, f.claimWithSignature([(ceiling: 400, claimed: 400)])).succeeded)
        try await f.chain.mine(timestamp: start + 900)
        let payerBefore = try await f.balance(Self.payer.address)
        let finalized = try await f.send(Self.payer, f.configCall("finalizeWithdraw"))
        #expect(finalized.succeeded)
        #expect(try await f.balance(Self.payer.address) == payerBefore + 600)
        #expect(try await f.channel() == [400, 400])
        #expect(finalized.logs[0].topics[0] == ABI.eventTopic("WithdrawFinalized(bytes32,address,uint128)"))
        #expect(try await f.view("pendingWithdrawals(bytes32)", [.bytes32(f.id)], [.uint256, .uint256]) == [.uint(0), .uint(0)])
    }

    @Test func refundCancelsAPendingWithdrawalAndClosesAnEmptyChannel() async throws {
        let f = try Fixture()
        #expect(try await f.send(Self.payer, f.deposit(1_000)).succeeded)
        #expect(try await f.send(Self.payer, f.configCall("initiateWithdraw", [.uint(600)], ",uint128")).succeeded)
        #expect(try await f.send(Self.stranger, f.refundWithSignature(400, nonce: 0)).succeeded)
        #expect(try await f.view("pendingWithdrawals(bytes32)", [.bytes32(f.id)], [.uint256, .uint256])[0] == .uint(200))
        let closing = try await f.send(Self.stranger, f.refundWithSignature(600, nonce: 1))
        #expect(closing.succeeded)
        let events = closing.logs.filter { $0.address == Self.contract }.map(Self.topic)
        #expect(
            events == [
                ABI.eventTopic("Refunded(bytes32,address,uint128)"), ABI.eventTopic("ChannelClosed(bytes32,\(BatchChannelConfig.abiType))"),
            ])
        #expect(try await f.view("pendingWithdrawals(bytes32)", [.bytes32(f.id)], [.uint256, .uint256]) == [.uint(0), .uint(0)])
        #expect(try await f.channel() == [0, 0])
    }

    @Test func multicallIsAllOrNothingAndMulticall3ReadsState() async throws {
        let f = try Fixture()
        #expect(try await f.send(Self.payer, f.deposit(1_000)).succeeded)
        // Claim then refund in one transaction, as x402's facilitator batches them.
        let claim = f.claimWithSignature([(ceiling: 100, claimed: 100)])
        let both = try await f.send(
            Self.stranger, ABI.encodeCall("multicall(bytes[])", [.array([.bytes(claim), .bytes(f.refundWithSignature(900, nonce: 0))])]))
        #expect(both.succeeded)
        #expect(try await f.channel() == [100, 100])
        // A failing member (a stale refund nonce) undoes the members before it (a top-up).
        let failing = try await f.send(
            Self.stranger,
            ABI.encodeCall(
                "multicall(bytes[])",
                [.array([.bytes(f.deposit(50, salt: 9)), .bytes(f.refundWithSignature(1, nonce: 0))])]))
        Self.expectRevert(failing, "InvalidRefundNonce()")
        #expect(try await f.channel() == [100, 100])

        let reads = ABI.encodeCall(
            "tryAggregate(bool,(address,bytes)[])",
            [
                .bool(false),
                .array([
                    .tuple([.address(Self.contract), .bytes(ABI.encodeCall("channels(bytes32)", [.bytes32(f.id)]))]),
                    .tuple([.address(Self.contract), .bytes(ABI.encodeCall("refundNonce(bytes32)", [.bytes32(f.id)]))]),
                    .tuple([.address(Self.contract), .bytes([0xde, 0xad, 0xbe, 0xef])]),
                ]),
            ])
        let output = try await f.chain.call(to: try Address("0xcA11bde05977b3631167028862bE2a173976CA11"), data: reads)
        let results = try #require(try ABI.decode([.array(.tuple([.bool, .bytes]))], from: output)[0].elements)
        #expect(results.count == 3)
        #expect(results[0] == .tuple([.bool(true), .bytes(ABI.encode([.uint(100), .uint(100)]))]))
        #expect(results[1] == .tuple([.bool(true), .bytes(ABI.encode([.uint(1)]))]))
        #expect(results[2] == .tuple([.bool(false), .bytes([])]))
    }
}
