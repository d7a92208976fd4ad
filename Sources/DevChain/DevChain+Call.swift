import EVM

extension DevChain {
    /// `eth_call`: runs a call on a copy of the state at `tag` and returns its output.
    ///
    /// State-changing token functions are simulated (what a facilitator does before settling);
    /// nothing is kept. An address without code returns empty output.
    ///
    /// - Parameters:
    ///   - from: `msg.sender` (the zero address by default).
    ///   - gas: when given, the call fails with ``DevChainError/Code/outOfGas`` if it needs more.
    /// - Throws: ``DevChainError/Code/executionReverted`` with the revert data,
    ///   ``DevChainError/Code/outOfGas``, ``DevChainError/Code/unknownBlock``.
    public func call(
        from: Address? = nil, to: Address, data: [UInt8], value: UInt256 = .zero, gas: UInt64? = nil, at tag: BlockTag = .latest
    ) throws(DevChainError) -> [UInt8] {
        try simulate(from: from, to: to, data: data, value: value, gas: gas, at: tag).output
    }

    /// `eth_estimateGas`: the gas a transaction with these fields uses (intrinsic plus execution).
    ///
    /// - Throws: like ``call(from:to:data:value:gas:at:)``: a call that reverts has no estimate.
    public func estimateGas(
        from: Address? = nil, to: Address?, data: [UInt8], value: UInt256 = .zero, gas: UInt64? = nil, at tag: BlockTag = .latest
    ) throws(DevChainError) -> UInt64 {
        guard let to else {
            throw DevChainError(.contractCreationUnsupported, "contract creation is not supported: the dev chain's tokens are built in")
        }
        return try simulate(from: from, to: to, data: data, value: value, gas: gas, at: tag).gasUsed
    }

    private func simulate(
        from: Address?, to: Address, data: [UInt8], value: UInt256, gas: UInt64?, at tag: BlockTag
    ) throws(DevChainError) -> (output: [UInt8], gasUsed: UInt64) {
        let world = try world(at: tag)
        let sender = from ?? .zero
        let timestamp: UInt64
        switch tag {
        case .number(let number) where number < state.head.number: timestamp = state.blocks[Int(number)].timestamp
        case .earliest: timestamp = state.blocks[0].timestamp
        default: timestamp = pendingTimestamp
        }
        // Value moves before the call: the sender must hold it (geth: "insufficient funds for transfer").
        if !value.isZero && world.balance(of: sender) < value {
            throw DevChainError(.insufficientFunds, "insufficient funds for transfer: address \(sender)")
        }
        var scratch = world
        let outcome = scratch.call(
            to, data, value: value, context: .init(sender: sender, timestamp: timestamp, chainID: configuration.chainID))
        let gasUsed = Gas.intrinsic(data) + outcome.gas
        if let gas, gasUsed > gas {
            throw DevChainError(.outOfGas, "out of gas: gas required exceeds allowance (\(gas))")
        }
        guard outcome.succeeded else {
            let reason = RevertReason(data: outcome.output)
            let message = outcome.output.isEmpty ? "execution reverted" : "execution reverted: \(reason)"
            throw DevChainError(.executionReverted, message, revertData: outcome.output)
        }
        return (outcome.output, gasUsed)
    }
}
