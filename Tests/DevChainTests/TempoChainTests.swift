import DevChain
import EVM
import Foundation
import Testing

/// The Tempo network of the dev chain, driven over JSON-RPC with Settle-signed `0x76` transactions.
struct TempoChainTests {
    static let pathUSD = TokenConfiguration.pathUSD.address
    static let alphaUSD = TokenConfiguration.alphaUSD.address
    static let keys = TestAccounts.privateKeys
    static let million = UInt256(1_000_000_000_000)

    static func withTempo<T>(_ body: (DevChainHarness) async throws -> T) async throws -> T {
        try await DevChainHarness.with(
            {
                $0 = .tempo(port: 0)
                $0.blockTime = .zero
                $0.automine = true
            }, body)
    }

    static func transfer(to: Address, _ amount: UInt256, memo: Hash32? = nil) -> [UInt8] {
        if let memo { return ABI.encodeCall("transferWithMemo(address,uint256,bytes32)", [.address(to), .uint(amount), .bytes32(memo)]) }
        return ABI.encodeCall("transfer(address,uint256)", [.address(to), .uint(amount)])
    }

    static func transaction(
        _ calls: [TempoCall], nonceKey: UInt256 = TempoTransaction.expiringNonceKey, nonce: UInt64 = 0, validBefore: UInt64? = nil,
        validAfter: UInt64? = nil, feeToken: Address? = pathUSD, sponsored: Bool = false, chainID: UInt64 = 42431
    ) -> TempoTransaction {
        let now = UInt64(Date().timeIntervalSince1970)
        return TempoTransaction(
            chainID: chainID, maxPriorityFeePerGas: 0, maxFeePerGas: 20_000_000_000, gasLimit: 1_000_000, calls: calls, nonceKey: nonceKey,
            nonce: nonce, validBefore: validBefore ?? (nonceKey == TempoTransaction.expiringNonceKey ? now + 60 : nil),
            validAfter: validAfter,
            feeToken: sponsored ? nil : feeToken, isSponsored: sponsored)
    }

    /// `eth_sendRawTransactionSync`: the receipt object, or the error object.
    static func sendSync(_ h: DevChainHarness, _ signed: SignedTempoTransaction) async throws -> RPCValue {
        try await h.raw("eth_sendRawTransactionSync", #"["\#(signed.rawHex)", 5000]"#)
    }

    static func balance(_ h: DevChainHarness, _ token: Address, _ owner: Address) async throws -> UInt256 {
        let output = try await h.rpc.call(CallRequest(to: token, data: ABI.encodeCall("balanceOf(address)", [.address(owner)])))
        return try #require(try ABI.decode([.uint256], from: output).first?.uint)
    }

    static func fee(_ receipt: RPCValue) throws -> UInt256 {
        let gas = try #require(receipt["gasUsed"]?.quantity?.uint64)
        let price = try #require(receipt["effectiveGasPrice"]?.quantity)
        let (units, remainder) = price.multipliedReportingOverflow(by: gas).partialValue.quotientAndRemainder(dividingBy: 1_000_000_000_000)
        return remainder == 0 ? units : units + 1
    }

    @Test func answersAsTempoDoes() async throws {
        try await Self.withTempo { h in
            #expect(try await h.result("eth_chainId").stringValue == "0xa5bf")
            #expect(
                try await h.result("eth_getBalance", #"["\#(Self.keys[0].address)", "latest"]"#).stringValue
                    == "0x9612084f0316e0ebd5182f398e5195a51b5ca47667d4c9b26c9b26c9b26c9b2")
            for (signature, expected) in [("currency()", "USD"), ("name()", "pathUSD"), ("symbol()", "pathUSD")] {
                let output = try await h.rpc.call(CallRequest(to: Self.pathUSD, data: ABI.selector(signature)))
                #expect(try ABI.decode([.string], from: output).first?.string == expected, "\(signature)")
            }
            let decimals = try await h.rpc.call(CallRequest(to: Self.alphaUSD, data: ABI.selector("decimals()")))
            #expect(try ABI.decode([.uint8], from: decimals).first?.uint == 6)
            #expect(try await h.result("eth_getCode", #"["\#(Self.pathUSD)", "latest"]"#).stringValue != "0x")
            let reorg = try await h.raw("devchain_reorg", "[1]")
            #expect(reorg["error"]?["message"]?.stringValue?.contains("deterministic finality") == true)
            // The faucet.
            let fresh = PrivateKey.random().address
            _ = try await h.result("tempo_fundAddress", #"["\#(fresh)"]"#)
            #expect(try await Self.balance(h, Self.alphaUSD, fresh) == Self.million)
        }
    }

    @Test func chargesWithMemoAndFeesInTheFeeToken() async throws {
        try await Self.withTempo { h in
            let payer = Self.keys[1]
            let merchant = PrivateKey.random().address
            let memo = Keccak256.hash(Array("invoice 42".utf8))
            let signed = Self.transaction([TempoCall(to: Self.pathUSD, input: Self.transfer(to: merchant, 250_000, memo: memo))]).signed(
                with: payer)
            let receipt = try await Self.sendSync(h, signed)
            #expect(receipt["result"]?["status"]?.stringValue == "0x1", "\(receipt)")
            let result = try #require(receipt["result"])
            #expect(result["transactionHash"]?.stringValue == signed.hash.hex)
            #expect(result["feeToken"]?.stringValue == Self.pathUSD.lowercased)
            #expect(result["feePayer"]?.stringValue == payer.address.lowercased)
            let logs = try #require(result["logs"]?.arrayValue)
            // The transfer, its memo, then the fee's transfer to the FeeManager.
            #expect(
                logs.map { $0["topics"]?[0]?.stringValue } == [
                    TransferEvent.topic.hex, TransferWithMemoEvent.topic.hex, TransferEvent.topic.hex,
                ])
            #expect(logs[1]["topics"]?[3]?.stringValue == memo.hex)
            let fee = try Self.fee(result)
            #expect(!fee.isZero)
            #expect(try await Self.balance(h, Self.pathUSD, merchant) == 250_000)
            #expect(try await Self.balance(h, Self.pathUSD, payer.address) == Self.million - 250_000 - fee)
            #expect(try await Self.balance(h, Self.pathUSD, TempoAddresses.feeManager) == fee)
            // The transaction object lists its calls.
            let tx = try await h.result("eth_getTransactionByHash", #"["\#(signed.hash.hex)"]"#)
            #expect(
                tx["type"]?.stringValue == "0x76" && tx["calls"]?.arrayValue?.count == 1
                    && tx["from"]?.stringValue == payer.address.lowercased)
        }
    }

    @Test func aRevertingCallRevertsTheWholeBatchButTheFeeIsCharged() async throws {
        try await Self.withTempo { h in
            let payer = Self.keys[2]
            let merchant = PrivateKey.random().address
            let calls = [
                TempoCall(to: Self.pathUSD, input: Self.transfer(to: merchant, 1_000)),
                TempoCall(to: Self.alphaUSD, input: Self.transfer(to: merchant, Self.million + 1)),
            ]
            let response = try await Self.sendSync(h, Self.transaction(calls).signed(with: payer))
            let receipt = try #require(response["result"])
            #expect(receipt["status"]?.stringValue == "0x0")
            // The calls' logs are gone; the fee's, emitted after them, stays.
            #expect(receipt["logs"]?.arrayValue?.map { $0["topics"]?[2]?.stringValue } == [TempoAddresses.feeManager.word.hex])
            let revert = RevertReason(data: try Hex.decode(try #require(receipt["revertReason"]?.stringValue)))
            let expected =
                ABI.selector("InsufficientBalance(uint256,uint256,address)")
                + ABI.encode([.uint(Self.million), .uint(Self.million + 1), .address(Self.alphaUSD)])
            #expect(revert == RevertReason(data: expected))
            #expect(try await Self.balance(h, Self.pathUSD, merchant) == 0)
            #expect(try await Self.balance(h, Self.pathUSD, payer.address) == Self.million - (try Self.fee(receipt)))
            // eth_call shows the reason too.
            let call = try await h.raw(
                "eth_call", #"[{"from":"\#(payer.address)","to":"\#(Self.alphaUSD)","data":"\#(Hex.encode(calls[1].input))"}, "latest"]"#)
            #expect(call["error"]?["data"]?.stringValue == Hex.encode(expected))
        }
    }

    /// The fee leaves the payer without a log before the calls run; what it finally costs is the
    /// `Transfer` to the FeeManager that the fee token emits after them, as Tempo's
    /// `transfer_fee_post_tx` does: the receipt's last log, reverted or not, and in `eth_getLogs`.
    @Test func theFeeIsTheLastLogATransferToTheFeeManager() async throws {
        try await DevChainHarness.with(
            {
                $0 = .tempo(port: 0)
                $0.blockTime = .zero
                $0.automine = false
            }
        ) { h in
            let merchant = PrivateKey.random().address
            let (payer, sender, sponsor, loser) = (Self.keys[1], Self.keys[3], Self.keys[6], Self.keys[2])
            let charge = Self.transaction([TempoCall(to: Self.pathUSD, input: Self.transfer(to: merchant, 250_000, memo: .zero))])
                .signed(with: payer)
            let sponsored = try TempoFeePayerEnvelope(
                Self.transaction([TempoCall(to: Self.alphaUSD, input: Self.transfer(to: merchant, 400_000))], sponsored: true).signed(
                    with: sender)
            ).cosigned(by: sponsor, feeToken: Self.pathUSD)
            let reverting = Self.transaction(
                [TempoCall(to: Self.alphaUSD, input: Self.transfer(to: merchant, Self.million + 1))], feeToken: Self.alphaUSD
            ).signed(with: loser)
            for signed in [charge, sponsored, reverting] {
                _ = try await h.result("eth_sendRawTransaction", #"["\#(signed.rawHex)"]"#)
            }
            try await h.chain.mine()

            // (transaction, fee payer, fee token, number of logs): charge + memo + fee, transfer + fee, fee alone.
            let expected = [
                (charge.hash, payer, Self.pathUSD, 3), (sponsored.hash, sponsor, Self.pathUSD, 2),
                (reverting.hash, loser, Self.alphaUSD, 1),
            ]
            var next: UInt64 = 0
            var feeLogs: [Log] = []
            for (hash, feePayer, token, count) in expected {
                let receipt = try #require(try await h.rpc.transactionReceipt(hash))
                #expect(receipt.logs.map(\.logIndex) == (next..<next + UInt64(count)).map { Optional($0) }, "\(hash)")
                next += UInt64(count)
                let log = try #require(receipt.logs.last)
                let fee = try TransferEvent(log: log)
                #expect(log.address == token && fee.from == feePayer.address && fee.to == TempoAddresses.feeManager, "\(hash)")
                let price = try #require(receipt.effectiveGasPrice)
                let (units, remainder) = price.multipliedReportingOverflow(by: receipt.gasUsed).partialValue.quotientAndRemainder(
                    dividingBy: 1_000_000_000_000)
                #expect(fee.value == (remainder == 0 ? units : units + 1) && !fee.value.isZero, "\(hash)")
                feeLogs.append(log)
            }
            #expect(try #require(try await h.rpc.transactionReceipt(reverting.hash)).succeeded == false)
            let found = try await h.rpc.logs(
                LogFilter(fromBlock: .earliest, toBlock: .latest, topics: [[TransferEvent.topic], nil, [TempoAddresses.feeManager.word]]))
            #expect(found == feeLogs)
            // The logs explain every balance: the FeeManager holds exactly the fees they show, per token.
            let pathUSDFees = try feeLogs.filter { $0.address == Self.pathUSD }.reduce(UInt256.zero) {
                $0 + (try TransferEvent(log: $1).value)
            }
            #expect(try await Self.balance(h, Self.pathUSD, TempoAddresses.feeManager) == pathUSDFees)
            #expect(try await Self.balance(h, Self.alphaUSD, TempoAddresses.feeManager) == (try TransferEvent(log: feeLogs[2]).value))
            #expect(
                try await Self.balance(h, Self.pathUSD, payer.address) == Self.million - 250_000
                    - (try TransferEvent(log: feeLogs[0]).value))
        }
    }

    @Test func nonceLanesAreIndependent() async throws {
        try await Self.withTempo { h in
            let key = Self.keys[3]
            let call = [TempoCall(to: Self.pathUSD, input: Self.transfer(to: Self.keys[4].address, 1))]
            for (lane, nonce) in [(7, 0), (7, 1), (9, 0), (0, 0)] as [(UInt64, UInt64)] {
                let response = try await Self.sendSync(h, Self.transaction(call, nonceKey: UInt256(lane), nonce: nonce).signed(with: key))
                #expect(response["result"]?["status"]?.stringValue == "0x1", "lane \(lane) nonce \(nonce): \(response)")
            }
            #expect(await h.chain.nonce(of: key.address, key: 7) == 2)
            #expect(await h.chain.nonce(of: key.address, key: 9) == 1)
            #expect(try await h.result("eth_getTransactionCount", #"["\#(key.address)", "latest"]"#).stringValue == "0x1")
            let other = [TempoCall(to: Self.pathUSD, input: Self.transfer(to: Self.keys[4].address, 2))]
            let low = try await Self.sendSync(h, Self.transaction(other, nonceKey: 7, nonce: 1).signed(with: key))
            #expect(low["error"]?["message"]?.stringValue?.hasPrefix("nonce too low") == true, "\(low)")
            let high = try await Self.sendSync(h, Self.transaction(call, nonceKey: 9, nonce: 5).signed(with: key))
            #expect(high["error"]?["message"]?.stringValue?.hasPrefix("nonce too high") == true, "\(high)")
        }
    }

    @Test func expiringNoncesAndWindowsAreEnforced() async throws {
        try await Self.withTempo { h in
            let key = Self.keys[5]
            let now = UInt64(Date().timeIntervalSince1970)
            let call = [TempoCall(to: Self.pathUSD, input: Self.transfer(to: Self.keys[4].address, 1))]
            let once = Self.transaction(call).signed(with: key)
            #expect(try await Self.sendSync(h, once)["result"]?["status"]?.stringValue == "0x1")
            // The same signed payment again, and the same payment co-signed differently, are replays.
            let replay = try await Self.sendSync(h, once)
            #expect(replay["error"]?["message"]?.stringValue == "already known", "\(replay)")
            let cases: [(String, SignedTempoTransaction, String)] = [
                ("nonce 1", Self.transaction(call, nonce: 1).signed(with: key), "expiring nonce transactions must have nonce 0"),
                ("window 600 s", Self.transaction(call, validBefore: now + 600).signed(with: key), "more than 300 s"),
                ("expired", Self.transaction(call, nonceKey: 1, validBefore: now - 1).signed(with: key), "transaction expired"),
                (
                    "not yet valid", Self.transaction(call, nonceKey: 1, validAfter: now + 3_600).signed(with: key),
                    "transaction not yet valid"
                ),
                ("wrong chain", Self.transaction(call, chainID: 4217).signed(with: key), "invalid chain id"),
                ("fee token not TIP-20", Self.transaction(call, feeToken: Self.keys[0].address).signed(with: key), "invalid fee token"),
            ]
            for (name, signed, message) in cases {
                let response = try await Self.sendSync(h, signed)
                #expect(response["error"]?["message"]?.stringValue?.contains(message) == true, "\(name): \(response)")
            }
            let poor = PrivateKey.random()
            let broke = try await Self.sendSync(h, Self.transaction(call).signed(with: poor))
            #expect(broke["error"]?["message"]?.stringValue?.hasPrefix("insufficient funds") == true, "\(broke)")
            let legacy = EIP1559Transaction(
                chainID: 42431, nonce: 0, maxPriorityFeePerGas: 0, maxFeePerGas: 20_000_000_000, gasLimit: 100_000, to: Self.pathUSD)
            let wrongType = try await h.raw("eth_sendRawTransaction", #"["\#(legacy.signed(with: key).rawHex)"]"#)
            #expect(wrongType["error"]?["message"]?.stringValue?.hasPrefix("transaction type not supported") == true)
            let garbage = try await h.raw("eth_sendRawTransaction", #"["0x76c0"]"#)
            #expect(garbage["error"]?["message"]?.stringValue?.hasPrefix("rlp:") == true, "\(garbage)")
            #expect(try await Self.balance(h, Self.pathUSD, poor.address) == 0)
        }
    }

    @Test func aSponsorPaysTheFee() async throws {
        try await Self.withTempo { h in
            let sender = PrivateKey.random()
            let sponsor = Self.keys[6]
            _ = try await h.result("tempo_fundAddress", #"["\#(sender.address)"]"#)
            let merchant = PrivateKey.random().address
            let call = [TempoCall(to: Self.alphaUSD, input: Self.transfer(to: merchant, 400_000, memo: .zero))]
            let envelope = try TempoFeePayerEnvelope(Self.transaction(call, sponsored: true).signed(with: sender))
            let signed = try envelope.cosigned(by: sponsor, feeToken: Self.pathUSD)
            let receipt = try #require(try await Self.sendSync(h, signed)["result"])
            #expect(receipt["status"]?.stringValue == "0x1")
            #expect(receipt["feePayer"]?.stringValue == sponsor.address.lowercased)
            #expect(receipt["from"]?.stringValue == sender.address.lowercased)
            #expect(try await Self.balance(h, Self.alphaUSD, sender.address) == Self.million - 400_000)
            #expect(try await Self.balance(h, Self.pathUSD, sender.address) == Self.million)
            #expect(try await Self.balance(h, Self.pathUSD, sponsor.address) == Self.million - (try Self.fee(receipt)))
            // Another sponsor's signature makes another transaction hash, but the expiring nonce is spent.
            let again = try envelope.cosigned(by: Self.keys[7], feeToken: Self.pathUSD)
            #expect(again.hash != signed.hash)
            let replay = try await Self.sendSync(h, again)
            #expect(replay["error"]?["message"]?.stringValue == "expiring nonce already used: transaction replay", "\(replay)")
        }
    }
}
