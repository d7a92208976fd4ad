import EVM

/// The TIP-20 precompile's functions, with its custom errors (pytempo's `ITIP20` ABI).
extension TokenState {
    enum TIP20Selector {
        static let currency = ABI.selector("currency()")
        static let transferWithMemo = ABI.selector("transferWithMemo(address,uint256,bytes32)")
        static let transferFromWithMemo = ABI.selector("transferFromWithMemo(address,address,uint256,bytes32)")
    }

    enum TIP20Error {
        static let insufficientBalance = "InsufficientBalance(uint256,uint256,address)"
        static let insufficientAllowance = "InsufficientAllowance()"
        static let invalidRecipient = "InvalidRecipient()"
    }

    /// Runs `calldata` against a TIP-20. On revert `self` is left untouched.
    mutating func executeTIP20(_ calldata: [UInt8], context: CallContext, currency: String) -> ExecutionOutcome {
        guard calldata.count >= 4, context.value.isZero else { return .revertEmpty(gas: Gas.revert) }
        let selector = Array(calldata[0..<4])
        let arguments = calldata[4...]
        func decode(_ types: [ABIType]) -> [ABIValue]? { try? ABI.decode(types, from: arguments) }
        if let view = erc20View(selector, arguments) { return view }
        switch selector {
        case TIP20Selector.currency: return .success(ABI.encode([.string(currency)]), gas: Gas.view)
        case Selector.approve:
            guard let a = decode([.address, .uint256]) else { break }
            allowances[context.sender, default: [:]][a[0].address!] = a[1].uint!
            return .success(
                ABI.encode([.bool(true)]),
                logs: [.approval(token: address, owner: context.sender, spender: a[0].address!, value: a[1].uint!)], gas: Gas.approve)
        case Selector.transfer:
            guard let a = decode([.address, .uint256]) else { break }
            return tip20Transfer(from: context.sender, to: a[0].address!, amount: a[1].uint!, memo: nil, output: ABI.encode([.bool(true)]))
        case TIP20Selector.transferWithMemo:
            guard let a = decode([.address, .uint256, .bytes32]) else { break }
            return tip20Transfer(from: context.sender, to: a[0].address!, amount: a[1].uint!, memo: a[2].bytes32!, output: [])
        case Selector.transferFrom:
            guard let a = decode([.address, .address, .uint256]) else { break }
            return tip20TransferFrom(spender: context.sender, from: a[0].address!, to: a[1].address!, amount: a[2].uint!, memo: nil)
        case TIP20Selector.transferFromWithMemo:
            guard let a = decode([.address, .address, .uint256, .bytes32]) else { break }
            return tip20TransferFrom(
                spender: context.sender, from: a[0].address!, to: a[1].address!, amount: a[2].uint!, memo: a[3].bytes32!)
        default:
            break
        }
        return .revertEmpty(gas: Gas.revert)
    }

    /// Moves `amount`, emitting `Transfer` and, with a memo, `TransferWithMemo`.
    mutating func tip20Transfer(from: Address, to: Address, amount: UInt256, memo: Hash32?, output: [UInt8]) -> ExecutionOutcome {
        guard to != .zero else { return .customError(TIP20Error.invalidRecipient, [], gas: Gas.revert) }
        let available = balance(of: from)
        guard amount <= available else {
            return .customError(TIP20Error.insufficientBalance, [.uint(available), .uint(amount), .address(address)], gas: Gas.revert)
        }
        balances[from] = available - amount
        balances[to] = balance(of: to) + amount
        var logs = [DevChainLog.transfer(token: address, from: from, to: to, value: amount)]
        if let memo { logs.append(.transferWithMemo(token: address, from: from, to: to, amount: amount, memo: memo)) }
        return .success(output, logs: logs, gas: Gas.transfer)
    }

    private mutating func tip20TransferFrom(spender: Address, from: Address, to: Address, amount: UInt256, memo: Hash32?)
        -> ExecutionOutcome
    {
        let allowed = allowance(owner: from, spender: spender)
        guard amount <= allowed else { return .customError(TIP20Error.insufficientAllowance, [], gas: Gas.revert) }
        var outcome = tip20Transfer(from: from, to: to, amount: amount, memo: memo, output: ABI.encode([.bool(true)]))
        if outcome.succeeded {
            if allowed != .max { allowances[from, default: [:]][spender] = allowed - amount }
            outcome.gas = Gas.transferFrom
        }
        return outcome
    }

    /// Takes a transaction's maximum fee from `payer` before its calls run (the caller checked the
    /// balance), without a log: Tempo's `transfer_fee_pre_tx` emits none either.
    mutating func collectFee(from payer: Address, amount: UInt256) {
        balances[payer] = balance(of: payer) - amount
        balances[TempoAddresses.feeManager] = balance(of: TempoAddresses.feeManager) + amount
    }

    /// Returns the unused part of a fee taken by ``collectFee(from:amount:)`` and gives the
    /// `Transfer(payer → FeeManager, charged)` log that Tempo's `transfer_fee_post_tx` emits: the
    /// only trace of the fee in the logs, so that a balance can be explained by logs alone. Nil
    /// when nothing was taken, as the node skips the call then.
    mutating func settleFee(payer: Address, taken: UInt256, charged: UInt256) -> DevChainLog? {
        guard !taken.isZero else { return nil }
        let refund = taken - charged
        balances[TempoAddresses.feeManager] = balance(of: TempoAddresses.feeManager) - refund
        balances[payer] = balance(of: payer) + refund
        return .transfer(token: address, from: payer, to: TempoAddresses.feeManager, value: charged)
    }
}
