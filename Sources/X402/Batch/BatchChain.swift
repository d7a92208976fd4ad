import EVM
import Ledger

/// A channel as `x402BatchSettlement` holds it: `channels`, `pendingWithdrawals`, `refundNonce`.
struct BatchChannelState: Sendable, Hashable {
    var balance: EVM.UInt256
    var totalClaimed: EVM.UInt256
    /// Unix seconds of the payer's `initiateWithdraw`; 0 without one.
    var withdrawRequestedAt: UInt64
    var refundNonce: EVM.UInt256

    /// The snapshot every verify and settle answer carries (`extra` or `extra.channelState`).
    func json(channelID: Hash32) -> [String: JSONValue] {
        [
            "channelId": .string(channelID.hex), "balance": .string(balance.description), "totalClaimed": .string(totalClaimed.description),
            "withdrawRequestedAt": .number(String(withdrawRequestedAt)), "refundNonce": .string(refundNonce.description),
        ]
    }
}

/// The facilitator's calls to the contract: reads, simulations, and transactions signed by its
/// key through the sender's pipeline (``TransactionPipeline``), each stored before it is broadcast when there is a
/// `transactions` store, and waited for up to the receipt timeout.
struct BatchChain: Sendable {
    let configuration: X402BatchConfiguration
    let rpc: EthereumRPC
    let sender: TransactionPipeline
    let transactions: X402BatchTransactionStore?

    var contract: Address { configuration.contract }

    /// What a transaction came to.
    enum Outcome: Sendable {
        case mined(Receipt)
        /// Sent, no receipt within the timeout.
        case pending(Hash32)
    }

    func state(_ channel: Hash32) async throws -> BatchChannelState {
        let pair = try ABI.decode(
            [.uint256, .uint256], from: try await view(ABI.encodeCall("channels(bytes32)", [.bytes32(channel)])))
        let withdrawal = try ABI.decode(
            [.uint256, .uint256], from: try await view(ABI.encodeCall("pendingWithdrawals(bytes32)", [.bytes32(channel)])))
        let nonce = try ABI.decode([.uint256], from: try await view(ABI.encodeCall("refundNonce(bytes32)", [.bytes32(channel)])))
        return BatchChannelState(
            balance: pair[0].uint ?? .zero, totalClaimed: pair[1].uint ?? .zero, withdrawRequestedAt: withdrawal[1].uint?.uint64 ?? 0,
            refundNonce: nonce[0].uint ?? .zero)
    }

    /// `receivers(receiver, token)`: what was claimed for the receiver in all, and what was swept.
    func receiver(_ receiver: Address, token: Address) async throws -> (claimed: EVM.UInt256, settled: EVM.UInt256) {
        let pair = try ABI.decode(
            [.uint256, .uint256],
            from: try await view(ABI.encodeCall("receivers(address,address)", [.address(receiver), .address(token)])))
        return (pair[0].uint ?? .zero, pair[1].uint ?? .zero)
    }

    func tokenBalance(_ owner: Address) async throws -> EVM.UInt256 {
        let output = try await rpc.call(
            CallRequest(to: configuration.token.address, data: ABI.encodeCall("balanceOf(address)", [.address(owner)])))
        return try ABI.decode([.uint256], from: output).first?.uint ?? .zero
    }

    func tokenAllowance(_ owner: Address, spender: Address) async throws -> EVM.UInt256 {
        let output = try await rpc.call(
            CallRequest(
                to: configuration.token.address, data: ABI.encodeCall("allowance(address,address)", [.address(owner), .address(spender)])))
        return try ABI.decode([.uint256], from: output).first?.uint ?? .zero
    }

    private func view(_ data: [UInt8]) async throws -> [UInt8] {
        try await rpc.call(CallRequest(to: contract, data: data))
    }

    /// Simulates `data` on the contract from the facilitator's address; throws the revert.
    /// - Returns: the gas to send it with (the estimate plus a quarter).
    func simulate(_ data: [UInt8]) async throws -> UInt64 {
        let estimate = try await rpc.estimateGas(CallRequest(from: configuration.signer.address, to: contract, data: data))
        return estimate + estimate / 4 + 5_000
    }

    /// Signs `data` to the contract with the next nonce, stores it (as `kind`; a deposit with the
    /// end of its authorization, `validBefore`), sends it and waits for its receipt.
    func send(_ data: [UInt8], gas: UInt64, kind: X402BatchTransactionStore.Kind, validBefore: EVM.UInt256? = nil) async throws
        -> Outcome
    {
        let key = configuration.signer
        let tip = configuration.maxPriorityFeePerGas
        let fee = try await sender.maxFee(tip: tip)
        let (chainID, contract, transactions) = (configuration.token.chainID, contract, transactions)
        let (raw, _) = try await sender.send { nonce in
            let signed = EIP1559Transaction(
                chainID: chainID, nonce: nonce, maxPriorityFeePerGas: min(tip, fee), maxFeePerGas: fee, gasLimit: gas,
                to: contract, data: data
            ).signed(with: key)
            // Stored first: a transaction sent and then forgotten (the process stopped, the node
            // lost it) is found and sent again by the follower.
            try await transactions?.record(
                signed.hash, chainID: chainID, kind: kind, sender: key.address, nonce: nonce, gas: gas,
                callData: data, rawTx: signed.rawBytes, validBefore: validBefore)
            return signed.rawBytes
        }
        let hash = Keccak256.hash(raw)
        return try await receipt(hash)
    }

    /// Waits up to the receipt timeout for `hash`'s receipt, and records where it was mined.
    func receipt(_ hash: Hash32) async throws -> Outcome {
        let deadline = ContinuousClock.now + configuration.receiptTimeout
        while ContinuousClock.now < deadline {
            if let receipt = try? await rpc.transactionReceipt(hash) {
                try await transactions?.mined(hash, block: receipt.blockNumber, succeeded: receipt.succeeded)
                return .mined(receipt)
            }
            try await Task.sleep(for: configuration.receiptPollInterval)
        }
        return .pending(hash)
    }
}
