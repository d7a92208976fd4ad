import DevChain
import EVM
import Foundation
import Testing

/// Permit2 (`SignatureTransfer`) and x402's upto proxy on the dev chain: the settlement of a signed
/// maximum, every refusal in the contracts' order with their custom errors, and the nonce bitmap.
@Suite struct Permit2Tests {
    let payer = DevChainHarness.keys[0]
    let facilitator = DevChainHarness.keys[3]
    let merchant = TestAccounts.addresses[1]

    func permit(
        amount: UInt256 = 5_000, nonce: UInt256 = UInt256(UInt64.random(in: 1...UInt64.max)), deadline: UInt256? = nil,
        facilitator: Address? = nil, validAfter: UInt256 = .zero
    ) -> UptoPermit {
        UptoPermit(
            from: payer.address, token: DevChainHarness.usdc, amount: amount, nonce: nonce,
            deadline: deadline ?? UInt256(UInt64(Date().timeIntervalSince1970) + 600), to: merchant,
            facilitator: facilitator ?? self.facilitator.address, validAfter: validAfter)
    }

    func approvePermit2(_ h: DevChainHarness, _ amount: UInt256 = .max) async throws {
        let receipt = try await h.sendAndWait(
            from: payer, to: DevChainHarness.usdc,
            data: ABI.encodeCall("approve(address,uint256)", [.address(Permit2.address), .uint(amount)]))
        #expect(receipt.succeeded)
    }

    /// `eth_call` of the proxy's `settle` from `sender`: the revert data, nil when it succeeds.
    func simulate(_ h: DevChainHarness, _ permit: UptoPermit, amount: UInt256, signature: [UInt8], from sender: Address) async
        -> RevertReason?
    {
        do {
            _ = try await h.rpc.call(
                CallRequest(from: sender, to: Permit2.uptoProxy, data: permit.settleCalldata(amount: amount, signature: signature)))
            return nil
        } catch {
            return error.rpc?.revert ?? .error("\(error)")
        }
    }

    static func custom(_ signature: String, _ arguments: [ABIValue] = []) -> RevertReason {
        .custom(selector: ABI.selector(signature), data: ABI.encode(arguments))
    }

    @Test func genesisDeploysPermit2AndTheUptoProxy() async throws {
        try await DevChainHarness.with { h in
            for address in [Permit2.address, Permit2.uptoProxy] {
                let code = try await h.result("eth_getCode", #"["\#(address.checksummed)", "latest"]"#)
                #expect(code != .string("0x"), "\(address) has code")
            }
            let separator = try await h.rpc.call(CallRequest(to: Permit2.address, data: ABI.selector("DOMAIN_SEPARATOR()")))
            #expect(separator == Permit2.domain(chainID: DevChainHarness.chainID).separator.bytes)
            // EIP712Domain(string name,uint256 chainId,address verifyingContract): no version.
            let expected = Keccak256.hash(
                ABI.encode([
                    .bytes32(Keccak256.hash("EIP712Domain(string name,uint256 chainId,address verifyingContract)")),
                    .bytes32(Keccak256.hash("Permit2")), .uint(UInt256(DevChainHarness.chainID)), .address(Permit2.address),
                ]))
            #expect(separator == expected.bytes)
            let permit2 = try await h.rpc.call(CallRequest(to: Permit2.uptoProxy, data: ABI.selector("permit2()")))
            #expect(try ABI.decode([.address], from: permit2) == [.address(Permit2.address)])
            let typeString = try await h.rpc.call(CallRequest(to: Permit2.uptoProxy, data: ABI.selector("WITNESS_TYPE_STRING()")))
            #expect(try ABI.decode([.string], from: typeString) == [.string(Permit2.uptoWitnessTypeString)])
        }
    }

    @Test func theFacilitatorSettlesWhatWasChargedUpToTheMaximum() async throws {
        try await DevChainHarness.with { h in
            try await approvePermit2(h)
            let permit = permit(amount: 5_000)
            let signature = permit.sign(with: payer, chainID: DevChainHarness.chainID).bytes
            let before = (try await h.tokenBalance(payer.address), try await h.tokenBalance(merchant))
            #expect(await simulate(h, permit, amount: 1_234, signature: signature, from: facilitator.address) == nil)
            let receipt = try await h.sendAndWait(
                from: facilitator, to: Permit2.uptoProxy, data: permit.settleCalldata(amount: 1_234, signature: signature), gas: 300_000)
            #expect(receipt.succeeded)
            #expect(try await h.tokenBalance(payer.address) == before.0 - 1_234)
            #expect(try await h.tokenBalance(merchant) == before.1 + 1_234)
            // The token's Transfer (owner → witness.to, the amount settled), then the proxy's Settled().
            let transfer = try TransferEvent(log: try #require(receipt.logs.first))
            #expect(transfer.from == payer.address && transfer.to == merchant && transfer.value == 1_234)
            #expect(receipt.logs.last?.address == Permit2.uptoProxy)
            #expect(receipt.logs.last?.topics == [ABI.eventTopic("Settled()")])
            // The allowance to Permit2 went down by what moved; the nonce's bit is set.
            let allowance = try await h.rpc.call(
                CallRequest(
                    to: DevChainHarness.usdc,
                    data: ABI.encodeCall("allowance(address,address)", [.address(payer.address), .address(Permit2.address)])))
            #expect(try ABI.decode([.uint256], from: allowance) == [.uint(.max - 1_234)])
            let (word, bit) = Permit2.nonceSlot(permit.nonce)
            let bitmap = try await h.rpc.call(
                CallRequest(
                    to: Permit2.address, data: ABI.encodeCall("nonceBitmap(address,uint256)", [.address(payer.address), .uint(word)])))
            #expect(try ABI.decode([.uint256], from: bitmap) == [.uint(bit)])
            // The permit is single-use, whatever amount is left under its maximum.
            #expect(
                await simulate(h, permit, amount: 1, signature: signature, from: facilitator.address) == Self.custom("InvalidNonce()"))
        }
    }

    @Test func everyRefusalHasTheContractsError() async throws {
        try await DevChainHarness.with { h in
            let good = permit()
            let signature = good.sign(with: payer, chainID: DevChainHarness.chainID).bytes
            // Without an allowance to Permit2 the token refuses its transferFrom.
            #expect(
                await simulate(h, good, amount: 1_000, signature: signature, from: facilitator.address) == .error("TRANSFER_FROM_FAILED"))
            try await approvePermit2(h)
            let f = facilitator.address
            #expect(await simulate(h, good, amount: 5_001, signature: signature, from: f) == Self.custom("AmountExceedsPermitted()"))
            #expect(await simulate(h, good, amount: 0, signature: signature, from: f) == Self.custom("InvalidAmount()"))
            #expect(
                await simulate(h, good, amount: 1_000, signature: signature, from: TestAccounts.addresses[4])
                    == Self.custom("UnauthorizedFacilitator()"))
            let late = permit(validAfter: UInt256(UInt64(Date().timeIntervalSince1970) + 3_600))
            #expect(
                await simulate(h, late, amount: 1, signature: late.sign(with: payer, chainID: DevChainHarness.chainID).bytes, from: f)
                    == Self.custom("PaymentTooEarly()"))
            let expired = permit(deadline: 1_000)
            #expect(
                await simulate(h, expired, amount: 1, signature: expired.sign(with: payer, chainID: DevChainHarness.chainID).bytes, from: f)
                    == Self.custom("SignatureExpired(uint256)", [.uint(1_000)]))
            // Signed by someone else, or for another chain: another signer recovers.
            let stranger = good.sign(with: DevChainHarness.keys[5], chainID: DevChainHarness.chainID).bytes
            #expect(await simulate(h, good, amount: 1, signature: stranger, from: f) == Self.custom("InvalidSigner()"))
            let otherChain = good.sign(with: payer, chainID: 1).bytes
            #expect(await simulate(h, good, amount: 1, signature: otherChain, from: f) == Self.custom("InvalidSigner()"))
            #expect(
                await simulate(h, good, amount: 1, signature: Array(signature.prefix(60)), from: f)
                    == Self.custom("InvalidSignatureLength()"))
            // A witness changed after signing (another recipient) is another message.
            var redirected = good
            redirected.to = TestAccounts.addresses[4]
            #expect(await simulate(h, redirected, amount: 1, signature: signature, from: f) == Self.custom("InvalidSigner()"))
            // Mined, a refusal is a failed receipt and moves nothing.
            let before = try await h.tokenBalance(merchant)
            let receipt = try await h.sendAndWait(
                from: facilitator, to: Permit2.uptoProxy, data: good.settleCalldata(amount: 5_001, signature: signature), gas: 300_000)
            #expect(!receipt.succeeded)
            #expect(try await h.tokenBalance(merchant) == before)
            // The good permit still settles once.
            #expect(await simulate(h, good, amount: 5_000, signature: signature, from: f) == nil)
        }
    }

    @Test func permitTransferFromAndNonceInvalidation() async throws {
        try await DevChainHarness.with { h in
            try await approvePermit2(h)
            // A plain permit whose spender is the caller (here the facilitator's account).
            let nonce: UInt256 = 77
            let deadline = UInt256(h.now + 600)
            let digest = EIP712.digest(
                domainSeparator: Permit2.domain(chainID: DevChainHarness.chainID).separator,
                structHash: Permit2.permitStructHash(
                    token: DevChainHarness.usdc, amount: 900, spender: facilitator.address, nonce: nonce, deadline: deadline))
            let signature = payer.sign(digest: digest).bytes
            let call = ABI.encodeCall(
                "permitTransferFrom(((address,uint256),uint256,uint256),(address,uint256),address,bytes)",
                [
                    .tuple([.tuple([.address(DevChainHarness.usdc), .uint(900)]), .uint(nonce), .uint(deadline)]),
                    .tuple([.address(merchant), .uint(900)]), .address(payer.address), .bytes(signature),
                ])
            let before = try await h.tokenBalance(merchant)
            #expect(try await h.sendAndWait(from: facilitator, to: Permit2.address, data: call, gas: 300_000).succeeded)
            #expect(try await h.tokenBalance(merchant) == before + 900)
            #expect(!(try await h.sendAndWait(from: facilitator, to: Permit2.address, data: call, gas: 300_000).succeeded))
            // The owner invalidates nonces 256…511 ahead of use: a permit on one of them is refused.
            let invalidated = try await h.sendAndWait(
                from: payer, to: Permit2.address,
                data: ABI.encodeCall("invalidateUnorderedNonces(uint256,uint256)", [.uint(1), .uint(.max)]))
            #expect(invalidated.succeeded)
            #expect(invalidated.logs.first?.topics.first == ABI.eventTopic("UnorderedNonceInvalidation(address,uint256,uint256)"))
            let cancelled = permit(nonce: 300)
            #expect(
                await simulate(
                    h, cancelled, amount: 1, signature: cancelled.sign(with: payer, chainID: DevChainHarness.chainID).bytes,
                    from: facilitator.address) == Self.custom("InvalidNonce()"))
        }
    }

    /// `deposit` through the Permit2 collector: the witness is the channel id, the collector the
    /// spender, the tokens go from the payer straight to the settlement contract.
    @Test func batchSettlementDepositsThroughThePermit2Collector() async throws {
        try await DevChainHarness.with { h in
            let config = BatchChannelConfig(
                payer: payer.address, payerAuthorizer: payer.address, receiver: merchant, receiverAuthorizer: facilitator.address,
                token: DevChainHarness.usdc, withdrawDelay: 900, salt: .zero)
            let channel = config.channelID(in: BatchSettlement.domain(chainID: DevChainHarness.chainID))
            func deposit(_ amount: UInt256, nonce: UInt256, witness: Hash32? = nil, signer: PrivateKey? = nil) -> [UInt8] {
                let deadline = UInt256(h.now + 600)
                let permit = DepositPermit(
                    from: payer.address, token: DevChainHarness.usdc, amount: amount, nonce: nonce, deadline: deadline,
                    channelID: witness ?? channel)
                let signature = (signer ?? payer).sign(digest: permit.digest(chainID: DevChainHarness.chainID)).bytes
                return ABI.encodeCall(
                    "deposit(\(BatchChannelConfig.abiType),uint128,address,bytes)",
                    [
                        config.abiValue, .uint(amount), .address(BatchSettlement.permit2DepositCollector),
                        .bytes(ABI.encode([.uint(nonce), .uint(deadline), .bytes(signature), .bytes([])])),
                    ])
            }
            // Without an allowance to Permit2 the token refuses.
            let refused = try await h.sendAndWait(from: payer, to: BatchSettlement.address, data: deposit(4_000, nonce: 1), gas: 500_000)
            #expect(!refused.succeeded)
            try await approvePermit2(h)
            let before = try await h.tokenBalance(payer.address)
            let receipt = try await h.sendAndWait(from: payer, to: BatchSettlement.address, data: deposit(4_000, nonce: 1), gas: 500_000)
            #expect(receipt.succeeded)
            #expect(try await h.tokenBalance(payer.address) == before - 4_000)
            #expect(try await h.tokenBalance(BatchSettlement.address) == 4_000)
            let transfer = try TransferEvent(log: try #require(receipt.logs.first))
            #expect(transfer.from == payer.address && transfer.to == BatchSettlement.address && transfer.value == 4_000)
            let balance = try await h.rpc.call(
                CallRequest(to: BatchSettlement.address, data: ABI.encodeCall("channels(bytes32)", [.bytes32(channel)])))
            #expect(try ABI.decode([.uint256, .uint256], from: balance) == [.uint(4_000), .uint(0)])
            // Bound to another channel, signed by someone else, or the same nonce again: refused.
            for data in [
                deposit(1_000, nonce: 2, witness: Hash32.zero), deposit(1_000, nonce: 3, signer: DevChainHarness.keys[5]),
                deposit(1_000, nonce: 1),
            ] {
                #expect(!(try await h.sendAndWait(from: payer, to: BatchSettlement.address, data: data, gas: 500_000).succeeded))
            }
            #expect(try await h.tokenBalance(BatchSettlement.address) == 4_000)
            // Only the settlement contract may call the collector.
            let direct = await simulateCollect(h)
            #expect(direct == Self.custom("OnlyX402BatchSettlement()"))
        }
    }

    func simulateCollect(_ h: DevChainHarness) async -> RevertReason? {
        do {
            _ = try await h.rpc.call(
                CallRequest(
                    from: payer.address, to: BatchSettlement.permit2DepositCollector,
                    data: ABI.encodeCall(
                        "collect(address,address,uint256,bytes32,bytes)",
                        [.address(payer.address), .address(DevChainHarness.usdc), .uint(1), .bytes32(.zero), .bytes([])])))
            return nil
        } catch {
            return error.rpc?.revert
        }
    }
}
