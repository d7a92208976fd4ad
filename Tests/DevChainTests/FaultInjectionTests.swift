import DevChain
import EVM
import Foundation
import Testing

@Suite struct FaultInjectionTests {
    let payer = DevChainHarness.keys[0]
    let relayer = DevChainHarness.keys[3]
    let payee = TestAccounts.addresses[1]

    func paymentData(_ h: DevChainHarness, value: UInt256 = 2_500) -> (TransferWithAuthorization, [UInt8]) {
        let auth = TransferWithAuthorization(
            from: payer.address, to: payee, value: value, validAfter: 0, validBefore: UInt256(h.now + 3_600), nonce: Calldata.randomNonce())
        return (auth, Calldata.transfer(auth, auth.sign(with: payer, in: DevChainHarness.domain)))
    }

    @Test func reorgRequeuesAMinedTransfer() async throws {
        try await DevChainHarness.with { h in
            _ = try await h.result("evm_mine")
            let (_, data) = paymentData(h)
            let receipt = try await h.sendAndWait(from: relayer, to: DevChainHarness.usdc, data: data)
            #expect(receipt.blockNumber == 2)
            _ = try await h.result("evm_mine")
            let oldHash2 = try #require(try await h.rpc.block(.number(2))).hash
            let oldHash3 = try #require(try await h.rpc.block(.number(3))).hash
            _ = try await h.result("evm_setAutomine", "[false]")

            let result = try await h.result("devchain_reorg", "[2]")
            #expect(result["removedBlocks"] == .array([.string(oldHash2.hex), .string(oldHash3.hex)]))
            #expect(result["transactions"] == .array([.string(receipt.transactionHash.hex)]))
            #expect(result["requeued"] == .bool(true))
            // Same height, new hashes: a watcher comparing hashes sees the reorg.
            #expect(try await h.rpc.blockNumber() == 3)
            let newBlock2 = try #require(try await h.rpc.block(.number(2)))
            #expect(newBlock2.hash != oldHash2 && newBlock2.transactionHashes.isEmpty)
            #expect(try await h.rpc.block(.number(3))?.parentHash == newBlock2.hash)
            #expect(try await h.result("eth_getBlockByHash", #"["\#(oldHash2.hex)", false]"#) == .null)
            // The transfer is undone and pending again: no receipt, no logs, balances as before.
            #expect(try await h.rpc.transactionReceipt(receipt.transactionHash) == nil)
            let pending = try await h.result("eth_getTransactionByHash", #"["\#(receipt.transactionHash.hex)"]"#)
            #expect(pending["blockHash"] == .null && pending["hash"] == .string(receipt.transactionHash.hex))
            #expect(try await h.rpc.logs(LogFilter(fromBlock: .earliest, toBlock: .latest)).isEmpty)
            #expect(try await h.tokenBalance(payee) == 1_000_000_000_000)
            #expect(try await h.rpc.transactionCount(relayer.address, block: .latest) == 0)
            #expect(try await h.rpc.transactionCount(relayer.address, block: .pending) == 1)

            // The next block mines it again, in another block.
            _ = try await h.result("evm_mine")
            let again = try #require(try await h.rpc.transactionReceipt(receipt.transactionHash))
            #expect(again.succeeded && again.blockNumber == 4 && again.blockHash != receipt.blockHash)
            #expect(try await h.tokenBalance(payee) == 1_000_000_000_000 + 2_500)
            let logs = try await h.rpc.logs(LogFilter(fromBlock: .earliest, toBlock: .latest))
            #expect(logs.map(\.blockNumber) == [4, 4])
        }
    }

    @Test func reorgCanDropTheTransactions() async throws {
        try await DevChainHarness.with { h in
            let (auth, data) = paymentData(h)
            let receipt = try await h.sendAndWait(from: relayer, to: DevChainHarness.usdc, data: data)
            let result = try await h.result("devchain_reorg", #"[{"depth": 1, "requeue": false, "replacementBlocks": 2}]"#)
            #expect(result["requeued"] == .bool(false) && result["newBlocks"]?.arrayValue?.count == 2)
            #expect(try await h.rpc.blockNumber() == 2)
            #expect(try await h.rpc.transactionReceipt(receipt.transactionHash) == nil)
            #expect(try await h.result("eth_getTransactionByHash", #"["\#(receipt.transactionHash.hex)"]"#) == .null)
            #expect(try await h.tokenBalance(payee) == 1_000_000_000_000)
            #expect(try await !h.chain.authorizationState(token: DevChainHarness.usdc, authorizer: payer.address, nonce: auth.nonce))
            #expect(try await h.chain.balance(of: relayer.address) == DevChainConfiguration.tenThousandEther)
            // The authorization can be settled again (same nonce, fresh transaction).
            #expect(try await h.sendAndWait(from: relayer, to: DevChainHarness.usdc, data: data).succeeded)
            // Genesis cannot be reorganised away.
            let tooDeep = try await h.raw("devchain_reorg", "[99]")
            #expect(tooDeep["error"]?["code"]?.numberValue == -32602)
            let genesis = try await h.raw("devchain_reorg", #"[{"fromBlock": "0x0"}]"#)
            #expect(genesis["error"]?["code"]?.numberValue == -32602)
            let both = try await h.raw("devchain_reorg", #"[{"fromBlock": "0x1", "depth": 1}]"#)
            #expect(both["error"]?["code"]?.numberValue == -32602)
        }
    }

    @Test func reorgFromABlockRemovesItAndEverythingAfter() async throws {
        try await DevChainHarness.with { h in
            let (_, data) = paymentData(h)
            let receipt = try await h.sendAndWait(from: relayer, to: DevChainHarness.usdc, data: data)
            _ = try await h.result("evm_mine")
            _ = try await h.result("evm_mine")
            let head = try await h.rpc.blockNumber()
            let before = try #require(try await h.rpc.block(.number(receipt.blockNumber - 1))).hash
            let result = try await h.result("devchain_reorg", #"[{"fromBlock": "0x\#(String(receipt.blockNumber, radix: 16))"}]"#)
            #expect(result["removedBlocks"]?.arrayValue?.count == Int(head - receipt.blockNumber + 1))
            #expect(result["transactions"] == .array([.string(receipt.transactionHash.hex)]))
            #expect(try await h.rpc.block(.number(receipt.blockNumber - 1))?.hash == before)
            _ = try await h.result("evm_mine")
            let again = try #require(try await h.rpc.transactionReceipt(receipt.transactionHash))
            #expect(again.blockHash != receipt.blockHash)
        }
    }

    @Test func droppedTransactionNeverMines() async throws {
        try await DevChainHarness.with({ $0.automine = false }) { h in
            let (_, data) = paymentData(h)
            let hash = try await h.send(from: relayer, to: DevChainHarness.usdc, data: data)
            #expect(try await h.result("devchain_dropTransaction", #"["\#(hash.hex)"]"#) == .bool(true))
            #expect(try await h.result("devchain_dropTransaction", #"["\#(hash.hex)"]"#) == .bool(false))
            _ = try await h.result("evm_mine")
            #expect(try await h.rpc.transactionReceipt(hash) == nil)
            #expect(try await h.result("eth_getTransactionByHash", #"["\#(hash.hex)"]"#) == .null)
            #expect(try await h.rpc.block(.latest)?.transactionHashes.isEmpty == true)
            #expect(try await h.rpc.transactionCount(relayer.address, block: .pending) == 0)
        }
    }

    @Test func delayedReceiptsAppearAfterNBlocks() async throws {
        try await DevChainHarness.with { h in
            _ = try await h.result("devchain_delayReceipts", "[2]")
            let (_, data) = paymentData(h)
            let hash = try await h.send(from: relayer, to: DevChainHarness.usdc, data: data)
            // Mined (the block has it, balances moved) but the receipt is held back.
            #expect(try await h.rpc.block(.latest)?.transactionHashes == [hash])
            #expect(try await h.tokenBalance(payee) == 1_000_000_000_000 + 2_500)
            #expect(try await h.rpc.transactionReceipt(hash) == nil)
            _ = try await h.result("evm_mine")
            #expect(try await h.rpc.transactionReceipt(hash) == nil)
            _ = try await h.result("evm_mine")
            let receipt = try #require(try await h.rpc.transactionReceipt(hash))
            #expect(receipt.blockNumber == 1 && receipt.succeeded)
            // Back to immediate receipts.
            _ = try await h.result("devchain_delayReceipts", "[0]")
            let (_, second) = paymentData(h)
            let next = try await h.send(from: relayer, to: DevChainHarness.usdc, data: second)
            #expect(try await h.rpc.transactionReceipt(next) != nil)
        }
    }

    @Test func faucetFundsANewAccountThatSurvivesReorgs() async throws {
        try await DevChainHarness.with { h in
            let fresh = PrivateKey.random()
            let ether = UInt256(1_000_000_000_000_000_000)
            _ = try await h.result(
                "devchain_fund",
                #"["\#(fresh.address.lowercased)", "\#(ether.hexQuantity)", "\#(DevChainHarness.usdc.lowercased)", "0xf4240"]"#)
            #expect(try await h.chain.balance(of: fresh.address) == ether)
            #expect(try await h.tokenBalance(fresh.address) == 1_000_000)
            _ = try await h.result("evm_mine")
            _ = try await h.result("evm_mine")
            _ = try await h.result("devchain_reorg", "[2]")
            #expect(try await h.tokenBalance(fresh.address) == 1_000_000)
            #expect(try await h.chain.balance(of: fresh.address) == ether)
            // The funded account can pay gas and authorize payments.
            let auth = TransferWithAuthorization(
                from: fresh.address, to: payee, value: 400_000, validAfter: 0, validBefore: UInt256(h.now + 600),
                nonce: Calldata.randomNonce())
            let receipt = try await h.sendAndWait(
                from: fresh, to: DevChainHarness.usdc, data: Calldata.transfer(auth, auth.sign(with: fresh, in: DevChainHarness.domain)))
            #expect(receipt.succeeded)
            #expect(try await h.tokenBalance(fresh.address) == 600_000)
            // Object form, ether only; an unknown token is refused.
            let other = PrivateKey.random().address
            _ = try await h.result("devchain_fund", #"[{"address": "\#(other.lowercased)", "ether": "0x10"}]"#)
            #expect(try await h.chain.balance(of: other) == 16)
            let unknown = try await h.raw("devchain_fund", #"["\#(other.lowercased)", "0x1", "\#(other.lowercased)", "0x1"]"#)
            #expect(unknown["error"]?["code"]?.numberValue == -32602)
        }
    }

    @Test func snapshotAndRevert() async throws {
        try await DevChainHarness.with { h in
            let id = try await h.result("evm_snapshot")
            let (_, data) = paymentData(h)
            _ = try await h.sendAndWait(from: relayer, to: DevChainHarness.usdc, data: data)
            #expect(try await h.rpc.blockNumber() == 1)
            #expect(try await h.result("evm_revert", "[\(try #require(id.stringValue).debugDescription)]") == .bool(true))
            #expect(try await h.rpc.blockNumber() == 0)
            #expect(try await h.tokenBalance(payee) == 1_000_000_000_000)
            #expect(try await h.result("evm_revert", "[\(try #require(id.stringValue).debugDescription)]") == .bool(false))
        }
    }
}
