import DevChain
import EVM
import Foundation
import Testing

@Suite struct TransferWithAuthorizationTests {
    let payer = DevChainHarness.keys[0]
    let relayer = DevChainHarness.keys[3]
    let payee = TestAccounts.addresses[1]

    func authorization(value: UInt256 = 1_000, validAfter: UInt256 = 0, validBefore: UInt256? = nil) -> TransferWithAuthorization {
        TransferWithAuthorization(
            from: payer.address, to: payee, value: value, validAfter: validAfter,
            validBefore: validBefore ?? UInt256(UInt64(Date().timeIntervalSince1970) + 3_600), nonce: Calldata.randomNonce())
    }

    @Test func relayedTransferMinesWithLogsAndMovesBalances() async throws {
        try await DevChainHarness.with { h in
            let auth = authorization(value: 1_234_567)
            let signature = auth.sign(with: payer, in: DevChainHarness.domain)
            let data = Calldata.transfer(auth, signature)
            let relayerWeiBefore = try await h.chain.balance(of: relayer.address)
            // eth_estimateGas and eth_call simulate it first, as the x402 facilitator does.
            let estimate = try await h.rpc.estimateGas(CallRequest(from: relayer.address, to: DevChainHarness.usdc, data: data))
            #expect(estimate > 21_000)
            #expect(try await h.rpc.call(CallRequest(from: relayer.address, to: DevChainHarness.usdc, data: data)).isEmpty)

            let hash = try await h.send(from: relayer, to: DevChainHarness.usdc, data: data, gas: estimate)
            let receipt = try await h.waitForReceipt(hash)
            #expect(receipt.succeeded)
            #expect(receipt.transactionHash == hash)
            #expect(receipt.from == relayer.address && receipt.to == DevChainHarness.usdc)
            #expect(receipt.gasUsed == estimate)
            #expect(receipt.type == 2)
            #expect(receipt.effectiveGasPrice == 2_000_000_000)  // base fee 1 gwei + tip 1 gwei, under the 3 gwei cap
            #expect(receipt.logs.count == 2)
            let used = try AuthorizationUsedEvent(log: receipt.logs[0])
            #expect(used.authorizer == payer.address && used.nonce == auth.nonce && used.token == DevChainHarness.usdc)
            let transfer = try TransferEvent(log: receipt.logs[1])
            #expect(transfer == TransferEvent(token: DevChainHarness.usdc, from: payer.address, to: payee, value: 1_234_567))
            #expect(receipt.logs.map(\.logIndex) == [0, 1])
            let foreign = receipt.logs.filter { $0.blockHash != receipt.blockHash || $0.transactionHash != hash || $0.removed }
            #expect(foreign.isEmpty, "\(foreign)")

            #expect(try await h.tokenBalance(payer.address) == 1_000_000_000_000 - 1_234_567)
            #expect(try await h.tokenBalance(payee) == 1_000_000_000_000 + 1_234_567)
            // The relayer paid the gas, at the effective price; the payer paid nothing.
            let fee = receipt.effectiveGasPrice!.multipliedReportingOverflow(by: receipt.gasUsed).partialValue
            #expect(try await h.chain.balance(of: relayer.address) == relayerWeiBefore - fee)
            #expect(try await h.chain.balance(of: payer.address) == DevChainConfiguration.tenThousandEther)
            #expect(try await h.rpc.transactionCount(relayer.address, block: .latest) == 1)
            let state = try await h.rpc.call(
                CallRequest(
                    to: DevChainHarness.usdc,
                    data: ABI.encodeCall("authorizationState(address,bytes32)", [.address(payer.address), .bytes32(auth.nonce)])))
            #expect(try ABI.decode([.bool], from: state) == [.bool(true)])

            // The block holds it; the transaction is retrievable with its position.
            let block = try #require(try await h.rpc.block(.number(receipt.blockNumber)))
            #expect(block.transactionHashes == [hash] && block.hash == receipt.blockHash)
            let full = try await h.result("eth_getBlockByNumber", #"["latest", true]"#)
            #expect(full["transactions"]?[0]?["hash"] == .string(hash.hex))
            let tx = try await h.result("eth_getTransactionByHash", #"["\#(hash.hex)"]"#)
            #expect(tx["from"] == .string(relayer.address.lowercased))
            #expect(tx["input"] == .string(Hex.encode(data)))
            #expect(tx["blockNumber"] == .string(UInt256(receipt.blockNumber).hexQuantity))
            #expect(tx["type"] == .string("0x2"))
            let raw = try await h.result("eth_getTransactionReceipt", #"["\#(hash.hex)"]"#)
            #expect(raw["status"] == .string("0x1"))
            #expect(raw["logsBloom"]?.stringValue?.count == 2 + 512)
        }
    }

    @Test func bytesSignatureOverloadAndPlainERC20() async throws {
        try await DevChainHarness.with { h in
            let auth = authorization(value: 500)
            let signature = auth.sign(with: payer, in: DevChainHarness.domain)
            let receipt = try await h.sendAndWait(
                from: relayer, to: DevChainHarness.usdc, data: Calldata.transfer(auth, signatureBytes: signature.bytes))
            #expect(receipt.succeeded)
            #expect(try await h.tokenBalance(payee) == 1_000_000_000_500)

            // transfer / approve / transferFrom.
            let stranger = PrivateKey.random().address
            let direct = try await h.sendAndWait(
                from: payer, to: DevChainHarness.usdc, data: ABI.encodeCall("transfer(address,uint256)", [.address(stranger), .uint(42)]))
            #expect(direct.succeeded)
            #expect(try TransferEvent(log: direct.logs[0]).value == 42)
            let approve = try await h.sendAndWait(
                from: payer, to: DevChainHarness.usdc,
                data: ABI.encodeCall("approve(address,uint256)", [.address(relayer.address), .uint(10)]))
            #expect(approve.succeeded)
            let pull = try await h.sendAndWait(
                from: relayer, to: DevChainHarness.usdc,
                data: ABI.encodeCall("transferFrom(address,address,uint256)", [.address(payer.address), .address(stranger), .uint(7)]))
            #expect(pull.succeeded)
            #expect(try await h.tokenBalance(stranger) == 49)
            let allowance = try await h.rpc.call(
                CallRequest(
                    to: DevChainHarness.usdc,
                    data: ABI.encodeCall("allowance(address,address)", [.address(payer.address), .address(relayer.address)])))
            #expect(try ABI.decode([.uint256], from: allowance) == [.uint(3)])
            let over = try await h.sendAndWait(
                from: relayer, to: DevChainHarness.usdc,
                data: ABI.encodeCall("transferFrom(address,address,uint256)", [.address(payer.address), .address(stranger), .uint(4)]))
            #expect(!over.succeeded)
            #expect(await h.chain.receipt(over.transactionHash)?.revertReason == .error("ERC20: transfer amount exceeds allowance"))
        }
    }

    @Test func receiveWithAuthorizationByThePayee() async throws {
        try await DevChainHarness.with { h in
            let payeeKey = DevChainHarness.keys[1]
            let auth = ReceiveWithAuthorization(
                from: payer.address, to: payeeKey.address, value: 77, validAfter: 0, validBefore: UInt256(h.now + 600),
                nonce: Calldata.randomNonce())
            let receipt = try await h.sendAndWait(
                from: payeeKey, to: DevChainHarness.usdc, data: Calldata.receive(auth, auth.sign(with: payer, in: DevChainHarness.domain)))
            #expect(receipt.succeeded)
            #expect(try await h.tokenBalance(payeeKey.address) == 1_000_000_000_077)
        }
    }

    @Test func getLogsFiltersOnTheCanonicalChain() async throws {
        try await DevChainHarness.with { h in
            var receipts: [Receipt] = []
            let second = TestAccounts.addresses[2]
            for (index, to) in [payee, second, payee].enumerated() {
                var auth = authorization(value: UInt256(UInt64(100 + index)))
                auth.to = to
                receipts.append(
                    try await h.sendAndWait(
                        from: relayer, to: DevChainHarness.usdc,
                        data: Calldata.transfer(auth, auth.sign(with: payer, in: DevChainHarness.domain))))
            }
            #expect(receipts.map(\.blockNumber) == [1, 2, 3])
            let all = try await h.rpc.logs(LogFilter(fromBlock: .earliest, toBlock: .latest))
            #expect(all.count == 6)
            let transfers = try await h.rpc.logs(
                LogFilter(fromBlock: .number(1), toBlock: .latest, addresses: [DevChainHarness.usdc], topics: [[TransferEvent.topic]]))
            #expect(transfers.map { try! TransferEvent(log: $0).value } == [100, 101, 102])
            // Topic 2 (to) restricted to the payee: blocks 1 and 3.
            let toPayee = try await h.rpc.logs(
                LogFilter(fromBlock: .earliest, toBlock: .latest, topics: [[TransferEvent.topic], nil, [payee.word]]))
            #expect(toPayee.map(\.blockNumber) == [1, 3])
            // OR-list in position 0.
            let either = try await h.rpc.logs(
                LogFilter(fromBlock: .number(2), toBlock: .number(2), topics: [[TransferEvent.topic, AuthorizationUsedEvent.topic]]))
            #expect(either.map(\.blockNumber) == [2, 2])
            // Another address: nothing.
            #expect(try await h.rpc.logs(LogFilter(fromBlock: .earliest, addresses: [payee])).isEmpty)
            // By block hash (raw JSON), and the default range is the latest block.
            let byHash = try await h.result("eth_getLogs", #"[{"blockHash": "\#(receipts[1].blockHash.hex)"}]"#)
            #expect(byHash.arrayValue?.count == 2)
            #expect(byHash[0]?["blockNumber"] == .string("0x2") && byHash[0]?["removed"] == .bool(false))
            #expect(try await h.result("eth_getLogs", "[{}]").arrayValue?.count == 2)
            let reversed = try await h.raw("eth_getLogs", #"[{"fromBlock": "0x3", "toBlock": "0x1"}]"#)
            #expect(reversed["error"]?["code"]?.numberValue == -32602)
            let both = try await h.raw("eth_getLogs", #"[{"fromBlock": "0x1", "blockHash": "\#(receipts[1].blockHash.hex)"}]"#)
            #expect(both["error"] != nil)
        }
    }
}
