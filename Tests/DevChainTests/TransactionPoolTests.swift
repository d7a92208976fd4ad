import DevChain
import EVM
import Foundation
import Testing

/// What `eth_sendRawTransaction` refuses, with geth's messages.
@Suite struct TransactionPoolTests {
    let sender = DevChainHarness.keys[4]
    let recipient = TestAccounts.addresses[5]

    func rejection(_ h: DevChainHarness, _ raw: [UInt8]) async throws -> EVMError.RPCDetails {
        do {
            let hash = try await h.rpc.sendRawTransaction(raw)
            throw HarnessFailure("accepted \(hash), expected a rejection")
        } catch let error as EVMError {
            return try #require(error.rpc, "not an RPC error: \(error)")
        }
    }

    func transfer(nonce: UInt64, chainID: UInt64 = 31337, gas: UInt64 = 21_000, value: UInt256 = 1, maxFee: UInt256 = 3_000_000_000)
        -> EIP1559Transaction
    {
        EIP1559Transaction(
            chainID: chainID, nonce: nonce, maxPriorityFeePerGas: 1_000_000_000, maxFeePerGas: maxFee, gasLimit: gas, to: recipient,
            value: value)
    }

    @Test func noncesMustBeExact() async throws {
        try await DevChainHarness.with { h in
            #expect(try await h.rpc.sendRawTransaction(transfer(nonce: 0).signed(with: sender).rawBytes) != .zero)
            let low = try await rejection(h, transfer(nonce: 0, value: 2).signed(with: sender).rawBytes)
            #expect(low.code == -32000 && low.message.hasPrefix("nonce too low"))
            let high = try await rejection(h, transfer(nonce: 5).signed(with: sender).rawBytes)
            #expect(high.message.hasPrefix("nonce too high"))
            #expect(try await h.rpc.transactionCount(sender.address, block: .latest) == 1)

            // Without automine, pending transactions count towards the pending nonce.
            _ = try await h.result("evm_setAutomine", "[false]")
            _ = try await h.rpc.sendRawTransaction(transfer(nonce: 1).signed(with: sender).rawBytes)
            _ = try await h.rpc.sendRawTransaction(transfer(nonce: 2).signed(with: sender).rawBytes)
            #expect(try await h.rpc.transactionCount(sender.address, block: .pending) == 3)
            #expect(try await h.rpc.transactionCount(sender.address, block: .latest) == 1)
            #expect(try await h.result("devchain_mempool").arrayValue?.count == 2)
            _ = try await h.result("evm_mine")
            #expect(try await h.rpc.transactionCount(sender.address, block: .latest) == 3)
            #expect(try await h.rpc.block(.latest)?.transactionHashes.count == 2)
        }
    }

    @Test func chainIDSignatureAndEncodingAreChecked() async throws {
        try await DevChainHarness.with { h in
            let wrongChain = try await rejection(h, transfer(nonce: 0, chainID: 1).signed(with: sender).rawBytes)
            #expect(wrongChain.message == "invalid chain id for signer: have 1 want 31337")

            // A tampered signature recovers another address, which has no funds.
            let signed = transfer(nonce: 0).signed(with: sender)
            var tampered = signed
            tampered.signature = try Signature(r: Keccak256.hash("other r"), s: signed.signature.s, v: signed.signature.v)
            let forged = try await rejection(h, tampered.rawBytes)
            #expect(forged.message.hasPrefix("insufficient funds") || forged.message.hasPrefix("invalid sender"))
            // A high-s signature (EIP-2) has no valid sender.
            let order = try UInt256(hex: "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
            var highS = signed
            highS.signature = try Signature(
                r: signed.signature.r, s: (order - signed.signature.s.uint256).word, v: signed.signature.recoveryID ^ 1)
            #expect(try await rejection(h, highS.rawBytes).message.hasPrefix("invalid sender"))
            // Garbage, EIP-2930 (type 1) and unprotected legacy transactions.
            #expect(try await rejection(h, [0x02, 0xc0]).message.hasPrefix("rlp"))
            #expect(try await rejection(h, [0x01, 0xc0]).message.hasPrefix("transaction type not supported"))
            let unprotected = LegacyTransaction(nonce: 0, gasPrice: 2_000_000_000, gasLimit: 21_000, to: recipient, value: 1, chainID: nil)
            #expect(
                try await rejection(h, unprotected.signed(with: sender).rawBytes).message
                    == "only replay-protected (EIP-155) transactions allowed over RPC")
            let otherChain = LegacyTransaction(nonce: 0, gasPrice: 2_000_000_000, gasLimit: 21_000, to: recipient, value: 1, chainID: 1)
            #expect(try await rejection(h, otherChain.signed(with: sender).rawBytes).message.hasPrefix("invalid chain id for signer"))
            #expect(try await h.rpc.transactionCount(sender.address) == 0)
        }
    }

    /// web3.py sends legacy (EIP-155) transactions when given a gasPrice, as x402's Python facilitator does.
    @Test func legacyEIP155TransactionsExecute() async throws {
        try await DevChainHarness.with { h in
            let payer = DevChainHarness.keys[0]
            let auth = TransferWithAuthorization(
                from: payer.address, to: recipient, value: 9, validAfter: 0, validBefore: UInt256(h.now + 600),
                nonce: Calldata.randomNonce())
            let legacy = LegacyTransaction(
                nonce: 0, gasPrice: 1_500_000_000, gasLimit: 150_000, to: DevChainHarness.usdc,
                data: Calldata.transfer(auth, auth.sign(with: payer, in: DevChainHarness.domain)), chainID: 31337)
            let signed = legacy.signed(with: sender)
            let hash = try await h.rpc.sendRawTransaction(signed.rawBytes)
            #expect(hash == signed.hash)
            let receipt = try #require(try await h.rpc.transactionReceipt(hash))
            #expect(receipt.succeeded && receipt.type == 0 && receipt.from == sender.address)
            #expect(receipt.effectiveGasPrice == 1_500_000_000)
            #expect(try await h.tokenBalance(recipient) == 1_000_000_000_009)
            let tx = try await h.result("eth_getTransactionByHash", #"["\#(hash.hex)"]"#)
            #expect(tx["type"] == .string("0x0") && tx["gasPrice"] == .string("0x59682f00"))
            #expect(tx["v"]?.quantity == signed.v && tx["maxFeePerGas"] == nil)
        }
    }

    @Test func gasFeesAndFundsAreChecked() async throws {
        try await DevChainHarness.with { h in
            #expect(
                try await rejection(h, transfer(nonce: 0, gas: 20_999).signed(with: sender).rawBytes).message.hasPrefix(
                    "intrinsic gas too low"))
            #expect(
                try await rejection(h, transfer(nonce: 0, maxFee: 1).signed(with: sender).rawBytes).message.hasPrefix(
                    "max priority fee per gas higher than max fee per gas"))
            let underBaseFee = EIP1559Transaction(
                chainID: 31337, nonce: 0, maxPriorityFeePerGas: 1, maxFeePerGas: 999_999_999, gasLimit: 21_000, to: recipient)
            #expect(
                try await rejection(h, underBaseFee.signed(with: sender).rawBytes).message.hasPrefix(
                    "max fee per gas less than block base fee"))
            #expect(
                try await rejection(h, transfer(nonce: 0, gas: 40_000_000).signed(with: sender).rawBytes).message.hasPrefix(
                    "exceeds block gas limit"))
            let broke = PrivateKey.random()
            let poor = EIP1559Transaction(
                chainID: 31337, nonce: 0, maxPriorityFeePerGas: 1, maxFeePerGas: 3_000_000_000, gasLimit: 21_000, to: recipient)
            #expect(
                try await rejection(h, poor.signed(with: broke).rawBytes).message.hasPrefix("insufficient funds for gas * price + value"))
            let everything = transfer(nonce: 0, value: DevChainConfiguration.tenThousandEther)
            #expect(try await rejection(h, everything.signed(with: sender).rawBytes).message.hasPrefix("insufficient funds"))

            // Sending the same transaction twice: "already known", which EthereumRPC maps to the hash.
            _ = try await h.result("evm_setAutomine", "[false]")
            let once = transfer(nonce: 0).signed(with: sender)
            let hash = try await h.rpc.sendRawTransaction(once.rawBytes)
            let again = try await h.raw("eth_sendRawTransaction", #"["\#(once.rawHex)"]"#)
            #expect(again["error"]?["message"] == .string("already known"))
            #expect(try await h.rpc.sendRawTransaction(once.rawBytes) == hash)
            // Replacing it needs 10% more on both fees.
            let cheap = EIP1559Transaction(
                chainID: 31337, nonce: 0, maxPriorityFeePerGas: 1_050_000_000, maxFeePerGas: 3_100_000_000, gasLimit: 21_000,
                to: recipient, value: 1)
            #expect(try await rejection(h, cheap.signed(with: sender).rawBytes).message == "replacement transaction underpriced")
            let bumped = EIP1559Transaction(
                chainID: 31337, nonce: 0, maxPriorityFeePerGas: 1_100_000_000, maxFeePerGas: 3_300_000_000, gasLimit: 21_000,
                to: recipient, value: 1)
            let replacement = try await h.rpc.sendRawTransaction(bumped.signed(with: sender).rawBytes)
            _ = try await h.result("evm_mine")
            #expect(try await h.rpc.transactionReceipt(hash) == nil)
            #expect(try await h.rpc.transactionReceipt(replacement)?.succeeded == true)
            #expect(try await h.result("eth_getTransactionByHash", #"["\#(hash.hex)"]"#) == .null)
        }
    }

    @Test func plainEtherTransferChargesGasExactly() async throws {
        try await DevChainHarness.with { h in
            let before = try await h.chain.balance(of: sender.address)
            let recipientBefore = try await h.chain.balance(of: recipient)
            let hash = try await h.rpc.sendRawTransaction(transfer(nonce: 0, value: 12_345).signed(with: sender).rawBytes)
            let receipt = try #require(try await h.rpc.transactionReceipt(hash))
            #expect(receipt.gasUsed == 21_000 && receipt.cumulativeGasUsed == 21_000)
            #expect(try await h.chain.balance(of: recipient) == recipientBefore + 12_345)
            #expect(try await h.chain.balance(of: sender.address) == before - 12_345 - UInt256(21_000 * 2_000_000_000))
            // Historical state: the balance at block 0 is the genesis one.
            let atGenesis = try await h.result("eth_getBalance", #"["\#(sender.address.lowercased)", "0x0"]"#)
            #expect(atGenesis.quantity == before)
            let atBlockHash = try await h.result(
                "eth_getBalance", #"["\#(recipient.lowercased)", {"blockHash": "\#(receipt.blockHash.hex)"}]"#)
            #expect(atBlockHash.quantity == recipientBefore + 12_345)
        }
    }
}
