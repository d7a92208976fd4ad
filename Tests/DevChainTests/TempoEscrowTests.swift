import DevChain
import EVM
import Foundation
import Testing

/// The MPP session escrows (v1 `TempoStreamChannel`, v2 TIP-1034 reserve) on the Tempo network.
struct TempoEscrowTests {
    typealias T = TempoChainTests
    static let v1 = TempoChannelEscrow.v1ModeratoAddress
    static let v2 = TempoChannelEscrow.v2Address

    /// Sends one batch from `key` and returns its receipt. Each goes on a nonce lane of its own, so
    /// that sending the same calls again is a new transaction, and no window ties it to the clock.
    static func send(_ h: DevChainHarness, _ key: PrivateKey, _ calls: [(Address, [UInt8])]) async throws -> RPCValue {
        let lane = UInt256(UInt64.random(in: 1...UInt64.max))
        let signed = T.transaction(calls.map { TempoCall(to: $0.0, input: $0.1) }, nonceKey: lane).signed(with: key)
        let response = try await T.sendSync(h, signed)
        return try #require(response["result"], "\(response)")
    }

    /// The last event an escrow emitted in `receipt`: the fee's `Transfer` comes after it.
    static func escrowLog(_ receipt: RPCValue) -> RPCValue? {
        let escrows = [v1.lowercased, v2.lowercased]
        return receipt["logs"]?.arrayValue?.last { escrows.contains($0["address"]?.stringValue ?? "") }
    }

    static func expectRevert(_ receipt: RPCValue, _ error: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(receipt["status"]?.stringValue == "0x0", sourceLocation: sourceLocation)
        #expect(
            receipt["revertReason"]?.stringValue == Hex.encode(ABI.selector(error)), "\(receipt["revertReason"] ?? .null)",
            sourceLocation: sourceLocation)
    }

    static func voucher(_ key: PrivateKey, _ version: TempoChannelEscrow, _ escrow: Address, _ id: Hash32, _ amount: UInt256) -> [UInt8] {
        key.sign(
            digest: version.voucherDigest(channelID: id, cumulativeAmount: amount, domain: version.domain(chainID: 42431, escrow: escrow))
        )
        .bytes
    }

    /// The malleable twin of a signature (`n − s`, other parity): same signer, refused by the escrow.
    static func highS(_ bytes: [UInt8]) throws -> [UInt8] {
        let s = try Signature(bytes: bytes)
        let order = try UInt256(hex: "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
        return try Signature(r: s.r, s: (order - s.s.uint256).word, v: s.recoveryID ^ 1).bytes
    }

    @Test func v1ChannelLifecycle() async throws {
        try await T.withTempo { h in
            let payer = T.keys[1]
            let payee = T.keys[2]
            let salt = Keccak256.hash(Array("v1".utf8))
            let approve = ABI.encodeCall("approve(address,uint256)", [.address(Self.v1), .uint(900_000)])
            let open = ABI.encodeCall(
                "open(address,address,uint128,bytes32,address)",
                [.address(payee.address), .address(T.pathUSD), .uint(600_000), .bytes32(salt), .address(.zero)])
            let opened = try await Self.send(h, payer, [(T.pathUSD, approve), (Self.v1, open)])
            #expect(opened["status"]?.stringValue == "0x1", "\(opened)")
            let id = TempoChannelEscrow.v1ChannelID(
                payer: payer.address, payee: payee.address, token: T.pathUSD, salt: salt, authorizedSigner: .zero, escrow: Self.v1,
                chainID: 42431)
            let openedLog = try #require(Self.escrowLog(opened))
            #expect(openedLog["topics"]?[0]?.stringValue == TempoChannelEscrow.v1.topic(of: .channelOpened).hex)
            #expect(openedLog["topics"]?[1]?.stringValue == id.hex)
            let computed = try await h.rpc.call(
                CallRequest(
                    to: Self.v1,
                    data: ABI.encodeCall(
                        "computeChannelId(address,address,address,bytes32,address)",
                        [.address(payer.address), .address(payee.address), .address(T.pathUSD), .bytes32(salt), .address(.zero)])))
            #expect(computed == id.bytes)
            let digest = try await h.rpc.call(
                CallRequest(to: Self.v1, data: ABI.encodeCall("getVoucherDigest(bytes32,uint128)", [.bytes32(id), .uint(5)])))
            #expect(
                digest
                    == TempoChannelEscrow.v1.voucherDigest(
                        channelID: id, cumulativeAmount: 5, domain: TempoChannelEscrow.v1.domain(chainID: 42431, escrow: Self.v1)
                    ).bytes)

            func settle(_ by: PrivateKey, _ amount: UInt256, _ signature: [UInt8]) async throws -> RPCValue {
                try await Self.send(
                    h, by, [(Self.v1, ABI.encodeCall("settle(bytes32,uint128,bytes)", [.bytes32(id), .uint(amount), .bytes(signature)]))])
            }
            #expect(try await settle(payee, 100_000, Self.voucher(payer, .v1, Self.v1, id, 100_000))["status"]?.stringValue == "0x1")
            let second = try await settle(payee, 250_000, Self.voucher(payer, .v1, Self.v1, id, 250_000))
            #expect(second["status"]?.stringValue == "0x1")
            #expect(Self.escrowLog(second)?["topics"]?[0]?.stringValue == TempoChannelEscrow.v1.topic(of: .settled).hex)
            Self.expectRevert(try await settle(payee, 250_000, Self.voucher(payer, .v1, Self.v1, id, 250_000)), "AmountNotIncreasing()")
            Self.expectRevert(try await settle(payee, 700_000, Self.voucher(payer, .v1, Self.v1, id, 700_000)), "AmountExceedsDeposit()")
            Self.expectRevert(
                try await settle(payee, 300_000, try Self.highS(Self.voucher(payer, .v1, Self.v1, id, 300_000))), "InvalidSignature()")
            Self.expectRevert(try await settle(payee, 300_000, Self.voucher(payee, .v1, Self.v1, id, 300_000)), "InvalidSignature()")
            Self.expectRevert(try await settle(payer, 300_000, Self.voucher(payer, .v1, Self.v1, id, 300_000)), "NotPayee()")

            let topUp = try await Self.send(
                h, payer, [(Self.v1, ABI.encodeCall("topUp(bytes32,uint128)", [.bytes32(id), .uint(300_000)]))])
            #expect(topUp["status"]?.stringValue == "0x1")
            let close = try await Self.send(
                h, payee,
                [
                    (
                        Self.v1,
                        ABI.encodeCall(
                            "close(bytes32,uint128,bytes)",
                            [.bytes32(id), .uint(400_000), .bytes(Self.voucher(payer, .v1, Self.v1, id, 400_000))])
                    )
                ])
            #expect(close["status"]?.stringValue == "0x1", "\(close)")
            let closed = try #require(Self.escrowLog(close))
            #expect(closed["topics"]?[0]?.stringValue == TempoChannelEscrow.v1.topic(of: .channelClosed).hex)
            #expect(closed["data"]?.stringValue == Hex.encode(ABI.encode([.uint(400_000), .uint(500_000)])))
            Self.expectRevert(try await settle(payee, 450_000, Self.voucher(payer, .v1, Self.v1, id, 450_000)), "ChannelFinalized()")
            // The payee got 400,000 and paid its own fees; the escrow holds nothing.
            #expect(try await T.balance(h, T.pathUSD, Self.v1) == 0)
            let channel = try await h.rpc.call(CallRequest(to: Self.v1, data: ABI.encodeCall("getChannel(bytes32)", [.bytes32(id)])))
            let fields = try ABI.decode(
                [.address, .address, .address, .address, .uint(bits: 128), .uint(bits: 128), .uint(bits: 64), .bool], from: channel)
            #expect(fields[4].uint == 900_000 && fields[5].uint == 400_000 && fields[7].bool == true)
        }
    }

    @Test func v1ForcedCloseWaitsForTheGracePeriod() async throws {
        try await T.withTempo { h in
            let payer = T.keys[3]
            let payee = T.keys[4].address
            let salt = Hash32.zero
            let opened = try await Self.send(
                h, payer,
                [
                    (T.pathUSD, ABI.encodeCall("approve(address,uint256)", [.address(Self.v1), .uint(50_000)])),
                    (
                        Self.v1,
                        ABI.encodeCall(
                            "open(address,address,uint128,bytes32,address)",
                            [.address(payee), .address(T.pathUSD), .uint(50_000), .bytes32(salt), .address(.zero)])
                    ),
                ])
            #expect(opened["status"]?.stringValue == "0x1")
            let id = TempoChannelEscrow.v1ChannelID(
                payer: payer.address, payee: payee, token: T.pathUSD, salt: salt, authorizedSigner: .zero, escrow: Self.v1, chainID: 42431)
            let request = try await Self.send(h, payer, [(Self.v1, ABI.encodeCall("requestClose(bytes32)", [.bytes32(id)]))])
            #expect(Self.escrowLog(request)?["topics"]?[0]?.stringValue == TempoChannelEscrow.v1.topic(of: .closeRequested).hex)
            let withdraw = ABI.encodeCall("withdraw(bytes32)", [.bytes32(id)])
            Self.expectRevert(try await Self.send(h, payer, [(Self.v1, withdraw)]), "CloseNotReady()")
            _ = try await h.result("evm_increaseTime", "[901]")
            let before = try await T.balance(h, T.pathUSD, payer.address)
            let done = try await Self.send(h, payer, [(Self.v1, withdraw)])
            #expect(done["status"]?.stringValue == "0x1", "\(done)")
            #expect(try await T.balance(h, T.pathUSD, payer.address) == before + 50_000 - (try T.fee(done)))
        }
    }

    @Test func v2ChannelLifecycle() async throws {
        try await T.withTempo { h in
            let payer = T.keys[5]
            let payee = T.keys[6]
            let signer = PrivateKey.random()
            let salt = Keccak256.hash(Array("v2".utf8))
            let open = ABI.encodeCall(
                "open(address,address,address,uint96,bytes32,address)",
                [.address(payee.address), .address(.zero), .address(T.pathUSD), .uint(1_000_000), .bytes32(salt), .address(signer.address)])
            let openTransaction = T.transaction([TempoCall(to: Self.v2, input: open)]).signed(with: payer)
            let opened = try #require(try await T.sendSync(h, openTransaction)["result"])
            #expect(opened["status"]?.stringValue == "0x1", "\(opened)")
            let descriptor = TempoChannelDescriptor(
                payer: payer.address, payee: payee.address, operator: .zero, token: T.pathUSD, salt: salt, authorizedSigner: signer.address,
                expiringNonceHash: Keccak256.hash(openTransaction.transaction.senderPreimage + payer.address.bytes))
            let id = descriptor.channelID(chainID: 42431)
            #expect(Self.escrowLog(opened)?["topics"]?[1]?.stringValue == id.hex)
            let d = descriptor.abiValues
            let tuple = ChannelEscrowSignatures.descriptor
            func settle(_ amount: UInt256, _ signature: [UInt8]) async throws -> RPCValue {
                try await Self.send(
                    h, payee, [(Self.v2, ABI.encodeCall("settle(\(tuple),uint96,bytes)", d + [.uint(amount), .bytes(signature)]))])
            }
            #expect(try await settle(200_000, Self.voucher(signer, .v2, Self.v2, id, 200_000))["status"]?.stringValue == "0x1")
            #expect(try await settle(300_000, Self.voucher(signer, .v2, Self.v2, id, 300_000))["status"]?.stringValue == "0x1")
            Self.expectRevert(try await settle(400_000, Self.voucher(payer, .v2, Self.v2, id, 400_000)), "InvalidSignature()")
            let topUp = try await Self.send(h, payer, [(Self.v2, ABI.encodeCall("topUp(\(tuple),uint96)", d + [.uint(500_000)]))])
            #expect(topUp["status"]?.stringValue == "0x1")
            let state = try await h.rpc.call(CallRequest(to: Self.v2, data: ABI.encodeCall("getChannelState(bytes32)", [.bytes32(id)])))
            #expect(
                try ABI.decode([.uint(bits: 96), .uint(bits: 96), .uint(bits: 32)], from: state).map(\.uint) == [300_000, 1_500_000, 0])
            let closeCall = "close(\(tuple),uint96,uint96,bytes)"
            let voucher = Self.voucher(signer, .v2, Self.v2, id, 700_000)
            Self.expectRevert(
                try await Self.send(
                    h, payee, [(Self.v2, ABI.encodeCall(closeCall, d + [.uint(700_000), .uint(800_000), .bytes(voucher)]))]),
                "CaptureAmountInvalid()")
            let close = try await Self.send(
                h, payee, [(Self.v2, ABI.encodeCall(closeCall, d + [.uint(700_000), .uint(650_000), .bytes(voucher)]))])
            #expect(close["status"]?.stringValue == "0x1", "\(close)")
            #expect(Self.escrowLog(close)?["data"]?.stringValue == Hex.encode(ABI.encode([.uint(650_000), .uint(850_000)])))
            Self.expectRevert(try await settle(800_000, Self.voucher(signer, .v2, Self.v2, id, 800_000)), "ChannelNotFound()")
            #expect(try await T.balance(h, T.pathUSD, Self.v2) == 0)
            #expect(try await T.balance(h, T.pathUSD, payee.address) >= T.million + 650_000 - 10_000)
        }
    }
}

enum ChannelEscrowSignatures {
    static let descriptor = "(address,address,address,address,bytes32,address,bytes32)"
}
