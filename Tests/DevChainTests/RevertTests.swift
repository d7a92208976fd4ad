import DevChain
import EVM
import Foundation
import Testing

/// Every FiatToken v2.2 revert the brief lists, both as `eth_call` revert data (code 3) and as a
/// mined transaction with status 0.
@Suite struct RevertTests {
    let payer = DevChainHarness.keys[0]
    let relayer = DevChainHarness.keys[3]
    let payee = TestAccounts.addresses[1]
    static let curveOrder = try! UInt256(hex: "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")

    func authorization(
        value: UInt256 = 1_000, validAfter: UInt256 = 0, validBefore: UInt256? = nil, nonce: Hash32 = Calldata.randomNonce()
    ) -> TransferWithAuthorization {
        TransferWithAuthorization(
            from: payer.address, to: payee, value: value, validAfter: validAfter,
            validBefore: validBefore ?? UInt256(UInt64(Date().timeIntervalSince1970) + 3_600), nonce: nonce)
    }

    /// Simulates with eth_call (must revert with `reason`), then mines it (status 0, same reason),
    /// and checks that no token moved while the sender's nonce and gas were spent.
    func expectRevert(
        _ h: DevChainHarness, from key: PrivateKey, data: [UInt8], reason: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        do {
            _ = try await h.rpc.call(CallRequest(from: key.address, to: DevChainHarness.usdc, data: data))
            Issue.record("eth_call did not revert (expected \(reason))", sourceLocation: sourceLocation)
        } catch {
            #expect(error.rpc?.code == 3, sourceLocation: sourceLocation)
            #expect(error.rpc?.revert == .error(reason), sourceLocation: sourceLocation)
            #expect(error.rpc?.message == "execution reverted: \(reason)", sourceLocation: sourceLocation)
        }
        // eth_estimateGas refuses a call that reverts, with the same data.
        do {
            _ = try await h.rpc.estimateGas(CallRequest(from: key.address, to: DevChainHarness.usdc, data: data))
            Issue.record("eth_estimateGas did not revert (expected \(reason))", sourceLocation: sourceLocation)
        } catch {
            #expect(error.rpc?.revert == .error(reason), sourceLocation: sourceLocation)
        }
        let balances = (try await h.tokenBalance(payer.address), try await h.tokenBalance(payee))
        let nonce = try await h.rpc.transactionCount(key.address, block: .latest)
        let weiBefore = try await h.chain.balance(of: key.address)
        let receipt = try await h.sendAndWait(from: key, to: DevChainHarness.usdc, data: data)
        #expect(!receipt.succeeded, sourceLocation: sourceLocation)
        #expect(receipt.logs.isEmpty, sourceLocation: sourceLocation)
        let raw = try await h.result("eth_getTransactionReceipt", #"["\#(receipt.transactionHash.hex)"]"#)
        #expect(raw["status"] == .string("0x0"), sourceLocation: sourceLocation)
        let revertData = try Hex.decode(try #require(raw["revertReason"]?.stringValue))
        #expect(RevertReason(data: revertData) == .error(reason), sourceLocation: sourceLocation)
        #expect(await h.chain.receipt(receipt.transactionHash)?.revertReason == .error(reason), sourceLocation: sourceLocation)
        #expect(try await h.tokenBalance(payer.address) == balances.0, sourceLocation: sourceLocation)
        #expect(try await h.tokenBalance(payee) == balances.1, sourceLocation: sourceLocation)
        #expect(try await h.rpc.transactionCount(key.address, block: .latest) == nonce + 1, sourceLocation: sourceLocation)
        let fee = receipt.effectiveGasPrice!.multipliedReportingOverflow(by: receipt.gasUsed).partialValue
        #expect(try await h.chain.balance(of: key.address) == weiBefore - fee, sourceLocation: sourceLocation)
    }

    @Test func invalidSignatureAndWrongDomain() async throws {
        try await DevChainHarness.with { h in
            let auth = authorization()
            // Signed by another key.
            let forged = auth.sign(with: DevChainHarness.keys[5], in: DevChainHarness.domain)
            try await expectRevert(h, from: relayer, data: Calldata.transfer(auth, forged), reason: "FiatTokenV2: invalid signature")
            // Signed by the payer in a domain named "USDC" (Base Sepolia's name): x402's name mismatch.
            let wrongName = TokenDomain(name: "USDC", version: "2", chainID: 31337, verifyingContract: DevChainHarness.usdc)
            try await expectRevert(
                h, from: relayer, data: Calldata.transfer(auth, auth.sign(with: payer, in: wrongName)),
                reason: "FiatTokenV2: invalid signature")
            // Signed for another value than the one submitted.
            var tampered = auth
            tampered.value = 1_001
            try await expectRevert(
                h, from: relayer, data: Calldata.transfer(tampered, auth.sign(with: payer, in: DevChainHarness.domain)),
                reason: "FiatTokenV2: invalid signature")
        }
    }

    @Test func ecrecoverRejectsMalleableAndMalformedSignatures() async throws {
        try await DevChainHarness.with { h in
            let auth = authorization()
            let signature = auth.sign(with: payer, in: DevChainHarness.domain)
            // (r, n - s, flipped v) recovers the same key but is high-s: Circle's ECRecover refuses it.
            let highS = signature.r.bytes + (Self.curveOrder - signature.s.uint256).bigEndianBytes + [signature.v == 27 ? 28 : 27]
            try await expectRevert(
                h, from: relayer, data: Calldata.transfer(auth, signatureBytes: highS), reason: "ECRecover: invalid signature 's' value")
            try await expectRevert(
                h, from: relayer, data: Calldata.transfer(auth, signatureBytes: Array(signature.bytes.dropLast()) + [1]),
                reason: "ECRecover: invalid signature 'v' value")
            try await expectRevert(
                h, from: relayer, data: Calldata.transfer(auth, signatureBytes: Array(signature.bytes.prefix(64))),
                reason: "ECRecover: invalid signature length")
            // The original still works afterwards: none of the failures used the nonce.
            let ok = try await h.sendAndWait(from: relayer, to: DevChainHarness.usdc, data: Calldata.transfer(auth, signature))
            #expect(ok.succeeded)
        }
    }

    @Test func usedAndCanceledAuthorizations() async throws {
        try await DevChainHarness.with { h in
            let auth = authorization()
            let data = Calldata.transfer(auth, auth.sign(with: payer, in: DevChainHarness.domain))
            #expect(try await h.sendAndWait(from: relayer, to: DevChainHarness.usdc, data: data).succeeded)
            try await expectRevert(h, from: relayer, data: data, reason: "FiatTokenV2: authorization is used or canceled")

            // cancelAuthorization marks an unused nonce; the transfer signed with it then fails.
            let other = authorization()
            let cancel = CancelAuthorization(authorizer: payer.address, nonce: other.nonce)
            let canceled = try await h.sendAndWait(
                from: relayer, to: DevChainHarness.usdc, data: Calldata.cancel(cancel, cancel.sign(with: payer, in: DevChainHarness.domain))
            )
            #expect(canceled.succeeded)
            #expect(canceled.logs.first?.topics.first == ABI.eventTopic("AuthorizationCanceled(address,bytes32)"))
            #expect(try await h.chain.authorizationState(token: DevChainHarness.usdc, authorizer: payer.address, nonce: other.nonce))
            try await expectRevert(
                h, from: relayer, data: Calldata.transfer(other, other.sign(with: payer, in: DevChainHarness.domain)),
                reason: "FiatTokenV2: authorization is used or canceled")
            // Canceling twice fails the same way.
            try await expectRevert(
                h, from: relayer, data: Calldata.cancel(cancel, cancel.sign(with: payer, in: DevChainHarness.domain)),
                reason: "FiatTokenV2: authorization is used or canceled")
        }
    }

    @Test func timeWindowIsStrictOnBothEnds() async throws {
        try await DevChainHarness.with { h in
            let now = UInt256(h.now)
            let future = authorization(validAfter: now + 3_600)
            try await expectRevert(
                h, from: relayer, data: Calldata.transfer(future, future.sign(with: payer, in: DevChainHarness.domain)),
                reason: "FiatTokenV2: authorization is not yet valid")
            let past = authorization(validBefore: now - 1)
            try await expectRevert(
                h, from: relayer, data: Calldata.transfer(past, past.sign(with: payer, in: DevChainHarness.domain)),
                reason: "FiatTokenV2: authorization is expired")

            // Exactly at the bounds: block.timestamp == validBefore is expired, == validAfter not yet valid.
            let t = (try await h.rpc.block(.latest))!.timestamp + 100
            let atBefore = authorization(validAfter: 0, validBefore: UInt256(t))
            _ = try await h.result("evm_setNextBlockTimestamp", #"["\#(UInt256(t).hexQuantity)"]"#)
            let r1 = try await h.sendAndWait(
                from: relayer, to: DevChainHarness.usdc,
                data: Calldata.transfer(atBefore, atBefore.sign(with: payer, in: DevChainHarness.domain)))
            #expect(try await h.rpc.block(.number(r1.blockNumber))?.timestamp == t)
            #expect(await h.chain.receipt(r1.transactionHash)?.revertReason == .error("FiatTokenV2: authorization is expired"))
            let atAfter = authorization(validAfter: UInt256(t + 1), validBefore: UInt256(t + 1_000))
            _ = try await h.result("evm_setNextBlockTimestamp", #"["\#(UInt256(t + 1).hexQuantity)"]"#)
            let r2 = try await h.sendAndWait(
                from: relayer, to: DevChainHarness.usdc,
                data: Calldata.transfer(atAfter, atAfter.sign(with: payer, in: DevChainHarness.domain)))
            #expect(await h.chain.receipt(r2.transactionHash)?.revertReason == .error("FiatTokenV2: authorization is not yet valid"))
            // One second inside on both sides: valid.
            let inside = authorization(validAfter: UInt256(t + 1), validBefore: UInt256(t + 3))
            _ = try await h.result("evm_setNextBlockTimestamp", #"["\#(UInt256(t + 2).hexQuantity)"]"#)
            let r3 = try await h.sendAndWait(
                from: relayer, to: DevChainHarness.usdc,
                data: Calldata.transfer(inside, inside.sign(with: payer, in: DevChainHarness.domain)))
            #expect(r3.succeeded)

            // evm_increaseTime moves "now" for eth_call too: an authorization valid for an hour expires.
            let hour = authorization(validBefore: UInt256(h.now + 3_600))
            let hourData = Calldata.transfer(hour, hour.sign(with: payer, in: DevChainHarness.domain))
            _ = try await h.rpc.call(CallRequest(from: relayer.address, to: DevChainHarness.usdc, data: hourData))
            _ = try await h.result("evm_increaseTime", #"["0x1c20"]"#)  // two hours
            try await expectRevert(h, from: relayer, data: hourData, reason: "FiatTokenV2: authorization is expired")
        }
    }

    @Test func insufficientBalanceAndWrongCaller() async throws {
        try await DevChainHarness.with { h in
            let tooMuch = authorization(value: 1_000_000_000_001)
            try await expectRevert(
                h, from: relayer, data: Calldata.transfer(tooMuch, tooMuch.sign(with: payer, in: DevChainHarness.domain)),
                reason: "ERC20: transfer amount exceeds balance")
            let receive = ReceiveWithAuthorization(
                from: payer.address, to: payee, value: 5, validAfter: 0, validBefore: UInt256(h.now + 600), nonce: Calldata.randomNonce())
            // Submitted by the relayer rather than the payee.
            try await expectRevert(
                h, from: relayer, data: Calldata.receive(receive, receive.sign(with: payer, in: DevChainHarness.domain)),
                reason: "FiatTokenV2: caller must be the payee")
            // A transferWithAuthorization signature does not work as a receive one (different type hash).
            let asTransfer = TransferWithAuthorization(
                from: receive.from, to: receive.to, value: receive.value, validAfter: receive.validAfter, validBefore: receive.validBefore,
                nonce: receive.nonce)
            try await expectRevert(
                h, from: DevChainHarness.keys[1], data: Calldata.receive(receive, asTransfer.sign(with: payer, in: DevChainHarness.domain)),
                reason: "FiatTokenV2: invalid signature")
            try await expectRevert(
                h, from: payer,
                data: ABI.encodeCall("transfer(address,uint256)", [.address(payee), .uint(2_000_000_000_000)]),
                reason: "ERC20: transfer amount exceeds balance")
            try await expectRevert(
                h, from: payer, data: ABI.encodeCall("transfer(address,uint256)", [.address(.zero), .uint(1)]),
                reason: "ERC20: transfer to the zero address")
        }
    }

    @Test func outOfGasRevertsWithoutData() async throws {
        try await DevChainHarness.with { h in
            let auth = authorization()
            let data = Calldata.transfer(auth, auth.sign(with: payer, in: DevChainHarness.domain))
            let estimate = try await h.rpc.estimateGas(CallRequest(from: relayer.address, to: DevChainHarness.usdc, data: data))
            let hash = try await h.send(from: relayer, to: DevChainHarness.usdc, data: data, gas: estimate - 1)
            let receipt = try await h.waitForReceipt(hash)
            #expect(!receipt.succeeded)
            #expect(receipt.gasUsed == estimate - 1)
            #expect(await h.chain.receipt(hash)?.revertReason == .empty)
            #expect(try await !h.chain.authorizationState(token: DevChainHarness.usdc, authorizer: payer.address, nonce: auth.nonce))
            do {
                _ = try await h.rpc.call(CallRequest(from: relayer.address, to: DevChainHarness.usdc, data: data, gas: estimate - 1))
                Issue.record("eth_call with too little gas must fail")
            } catch let error as EVMError {
                #expect(error.rpc?.message.contains("out of gas") == true)
            }
        }
    }
}
