import EVM

/// The Tempo network: admission and execution of type `0x76` transactions.
///
/// Fees are priced in attodollars per gas and paid in a TIP-20 token (microdollars), so a fee is
/// ⌈gas × price / 10^12⌉ token units. The fee payer (the sender or its sponsor) is debited the
/// maximum fee before the calls run and refunded the unused part after, so a batch cannot spend the
/// tokens its fee needs; a reverted batch still pays for the gas it used. As on a Tempo node, the
/// fee leaves a log only when it is settled: a `Transfer` from the payer to the FeeManager of the
/// amount charged, emitted by the fee token after the calls, so it is the transaction's last log.
extension DevChain {
    /// Attodollars per TIP-20 unit (microdollar).
    static let attodollarsPerUnit: UInt64 = 1_000_000_000_000
    /// The longest `valid_before − now` an expiring nonce may have (TIP-1009 since T11).
    public static let maximumExpiringWindow: UInt64 = 300
    /// Gas every call of a batch after the first adds (each call is a message call of its own).
    static let gasPerExtraCall: UInt64 = 5_000

    /// ⌈gas × price / 10^12⌉: a fee in TIP-20 units; nil beyond 2^256 − 1.
    static func tempoFee(gas: UInt64, price: UInt256) -> UInt256? {
        let (attodollars, overflow) = price.multipliedReportingOverflow(by: gas)
        guard !overflow else { return nil }
        let (units, remainder) = attodollars.quotientAndRemainder(dividingBy: attodollarsPerUnit)
        return remainder == 0 ? units : units + 1
    }

    /// Intrinsic gas of a batch: 21000, calldata, and a message call per extra call.
    static func tempoIntrinsicGas(_ calls: [TempoCall]) -> UInt64 {
        calls.reduce(Gas.transaction) { sum, call in
            sum + Gas.intrinsic(call.input) - Gas.transaction
        } + gasPerExtraCall * UInt64(calls.count - 1)
    }

    /// The fee token: the transaction's, else the TIP-20 a transfer call targets, else pathUSD
    /// (Tempo's precedence without the account preference and DEX steps, which the dev chain lacks).
    func resolveFeeToken(_ transaction: TempoTransaction) throws(DevChainError) -> Address {
        let transferSelectors = [TokenState.Selector.transfer, TokenState.TIP20Selector.transferWithMemo]
        let token =
            transaction.feeToken
            ?? transaction.calls.first { call in
                call.to.map { state.world.tokens[$0] != nil } == true && transferSelectors.contains(Array(call.input.prefix(4)))
            }?.to ?? TokenConfiguration.pathUSD.address
        guard let deployed = state.world.tokens[token], deployed.configuration.isTIP20 else {
            throw DevChainError(.invalidFeeToken, "invalid fee token: \(token) is not a TIP-20 token")
        }
        return token
    }

    /// Admits a `0x76` transaction into the mempool (see ``sendRawTransaction(_:)``).
    func sendTempoTransaction(_ raw: [UInt8]) throws(DevChainError) -> Hash32 {
        guard raw.first == TempoTransaction.typeByte else {
            throw DevChainError(
                .invalidTransaction,
                "transaction type not supported: type \(raw.first ?? 0); this Tempo network takes type 0x76 transactions")
        }
        let signed: SignedTempoTransaction
        do {
            signed = try SignedTempoTransaction(raw: raw)
        } catch {
            if error.code == .invalidSignature || error.code == .invalidRecoveryID {
                throw DevChainError(.invalidSender, "invalid sender: \(error.message)")
            }
            throw DevChainError(.invalidTransaction, "rlp: \(error.message)")
        }
        let hash = signed.hash
        if state.locations[hash] != nil || state.mempool.contains(where: { $0.hash == hash }) {
            throw DevChainError(.alreadyKnown, "already known")
        }
        let t = signed.transaction
        guard t.chainID == configuration.chainID else {
            throw DevChainError(.wrongChainID, "invalid chain id for signer: have \(t.chainID) want \(configuration.chainID)")
        }
        guard t.calls.allSatisfy({ $0.to != nil }) else {
            throw DevChainError(.contractCreationUnsupported, "contract creation is not supported: the dev chain's contracts are built in")
        }
        guard t.calls.allSatisfy({ $0.value.isZero }) else {
            throw DevChainError(.invalidTransaction, "value transfer not allowed: Tempo has no native token")
        }
        try checkGas(tip: t.maxPriorityFeePerGas, feeCap: t.maxFeePerGas, gasLimit: t.gasLimit, intrinsic: Self.tempoIntrinsicGas(t.calls))
        let sender: Address
        let feePayer: Address?
        do {
            sender = try signed.recoverSender()
            feePayer = try signed.recoverFeePayer(sender: sender)
        } catch {
            throw DevChainError(.invalidSender, "invalid sender: \(error.message)")
        }
        try checkBaseFee(feeCap: t.maxFeePerGas, sender: sender)
        let now = pendingTimestamp
        if let validBefore = t.validBefore, validBefore <= now {
            throw DevChainError(.transactionExpired, "transaction expired: valid_before \(validBefore) is not after \(now)")
        }
        if let validAfter = t.validAfter, validAfter > now {
            throw DevChainError(.transactionNotYetValid, "transaction not yet valid: valid_after \(validAfter) is after \(now)")
        }
        var expiringNonceHash: Hash32?
        if t.usesExpiringNonce {
            guard t.nonce == 0 else { throw DevChainError(.invalidExpiringNonce, "expiring nonce transactions must have nonce 0") }
            guard let validBefore = t.validBefore else {
                throw DevChainError(.invalidExpiringNonce, "expiring nonce transactions must have valid_before")
            }
            guard validBefore <= now + Self.maximumExpiringWindow else {
                throw DevChainError(
                    .invalidExpiringNonce,
                    "expiring nonce valid_before \(validBefore) is more than \(Self.maximumExpiringWindow) s after \(now)")
            }
            let key = Keccak256.hash(t.senderPreimage + sender.bytes)
            if state.world.expiringNonces[key] != nil || state.mempool.contains(where: { $0.expiringNonceHash == key }) {
                throw DevChainError(.invalidExpiringNonce, "expiring nonce already used: transaction replay")
            }
            expiringNonceHash = key
        } else {
            let current = state.world.nonce(of: sender, key: t.nonceKey)
            guard t.nonce >= current else {
                throw DevChainError(
                    .nonceTooLow, "nonce too low: address \(sender), nonce key \(t.nonceKey), tx: \(t.nonce) state: \(current)")
            }
            let next = pendingNonce(of: sender, key: t.nonceKey)
            guard t.nonce == next else {
                throw DevChainError(
                    .nonceTooHigh, "nonce too high: address \(sender), nonce key \(t.nonceKey), tx: \(t.nonce) state: \(next)")
            }
        }
        let feeToken = try resolveFeeToken(t)
        let payer = feePayer ?? sender
        let balance = state.world.tokens[feeToken]!.balance(of: payer)
        guard let maximumFee = Self.tempoFee(gas: t.gasLimit, price: t.maxFeePerGas), maximumFee <= balance else {
            let want = Self.tempoFee(gas: t.gasLimit, price: t.maxFeePerGas).map { $0.description } ?? "more than 2^256"
            throw DevChainError(
                .insufficientFunds,
                "insufficient funds for gas * price + value: address \(payer) have \(balance) want \(want) (fee token \(feeToken))")
        }
        var fields = try DevChainTransaction.Fields(.tempo(signed))
        fields.type = TempoTransaction.typeByte
        state.mempool.append(
            DevChainTransaction(
                signed: .tempo(signed), hash: hash, sender: sender, fields: fields, feePayer: feePayer, feeToken: feeToken,
                expiringNonceHash: expiringNonceHash))
        if automine { mineBlock(includeTransactions: true) }
        return hash
    }

    /// Whether a pending Tempo transaction can go in a block at `timestamp` on `world`.
    func tempoReadiness(_ candidate: DevChainTransaction, in world: WorldState, timestamp: UInt64) -> Readiness {
        let t = candidate.transaction
        if let validBefore = t.validBefore, validBefore <= timestamp { return .drop }
        if let validAfter = t.validAfter, validAfter > timestamp { return .wait }
        if let key = candidate.expiringNonceHash {
            if world.expiringNonces[key] != nil { return .drop }
        } else {
            let nonce = world.nonce(of: candidate.sender, key: t.nonceKey)
            if t.nonce > nonce { return .wait }
            if t.nonce < nonce { return .drop }
        }
        guard let token = candidate.feeToken, let fee = Self.tempoFee(gas: t.gasLimit, price: t.maxFeePerGas),
            let balance = world.tokens[token]?.balance(of: candidate.payer), fee <= balance
        else { return .drop }
        return .ready
    }

    /// Runs a Tempo transaction: nonce (or expiring nonce), maximum fee taken, calls run atomically,
    /// unused fee refunded, and the fee's `Transfer` log last in the outcome, even when it reverted.
    func executeTempo(
        _ candidate: DevChainTransaction, in world: inout WorldState, price: UInt256, timestamp: UInt64
    ) -> (gasUsed: UInt64, outcome: ExecutionOutcome, fee: UInt256) {
        let t = candidate.transaction
        let feeToken = candidate.feeToken!
        if let key = candidate.expiringNonceHash {
            world.expiringNonces[key] = t.validBefore ?? timestamp
        } else {
            world.incrementNonce(of: candidate.sender, key: t.nonceKey)
        }
        let maximumFee = Self.tempoFee(gas: t.gasLimit, price: t.maxFeePerGas)!
        world.tokens[feeToken]!.collectFee(from: candidate.payer, amount: maximumFee)
        var after = world
        var logs: [DevChainLog] = []
        var gas = Self.tempoIntrinsicGas(t.calls)
        var outcome = ExecutionOutcome.success(gas: 0)
        var openHash = candidate.expiringNonceHash
        if openHash == nil, case .tempo(let signed) = candidate.signed {
            openHash = Keccak256.hash(signed.transaction.senderPreimage + candidate.sender.bytes)
        }
        let context = ChannelEscrowState.CallContext(
            sender: candidate.sender, timestamp: timestamp, chainID: configuration.chainID, expiringNonceHash: openHash)
        for call in t.calls {
            let result = Self.run(call, in: &after, context: context)
            gas += result.gas
            guard result.succeeded else {
                outcome = result
                break
            }
            logs += result.logs
            outcome = .success(result.output, logs: logs, gas: 0)
        }
        if gas > t.gasLimit {
            outcome = .revertEmpty(gas: 0)  // out of gas: all of it is used.
            gas = t.gasLimit
        }
        if outcome.succeeded { world = after }
        outcome.gas = gas
        let fee = Self.tempoFee(gas: gas, price: price)!
        // After the calls' logs, and kept when they reverted: the node emits it post-execution.
        if let feeLog = world.tokens[feeToken]!.settleFee(payer: candidate.payer, taken: maximumFee, charged: fee) {
            outcome.logs.append(feeLog)
        }
        return (gas, outcome, fee)
    }

    /// Runs one call of a batch: a token or an escrow function; nothing for an account without code.
    /// On revert `world` is unchanged.
    static func run(_ call: TempoCall, in world: inout WorldState, context: ChannelEscrowState.CallContext) -> ExecutionOutcome {
        guard let to = call.to else { return .success(gas: 0) }
        return world.call(to, call.input, value: call.value, context: context)
    }

    /// Runs a batch as `from` on a copy of the latest state, atomically, at the next block's timestamp.
    func simulateBatch(from: Address, calls: [TempoCall]) -> ExecutionOutcome {
        var world = state.world
        var logs: [DevChainLog] = []
        var gas = Self.tempoIntrinsicGas(calls.isEmpty ? [TempoCall(to: nil)] : calls)
        var output: [UInt8] = []
        let context = ChannelEscrowState.CallContext(sender: from, timestamp: pendingTimestamp, chainID: configuration.chainID)
        for call in calls {
            var result = Self.run(call, in: &world, context: context)
            gas += result.gas
            guard result.succeeded else {
                result.gas = gas
                return result
            }
            logs += result.logs
            output = result.output
        }
        return .success(output, logs: logs, gas: gas)
    }

    /// Whether a pending transaction can be mined.
    enum Readiness {
        case ready
        /// Not yet: a nonce gap or a window that has not opened.
        case wait
        /// Never: stale nonce, expired, used expiring nonce or unaffordable fee.
        case drop
    }

    /// The next lane-`key` nonce after the account's gapless run of pending transactions in it.
    func pendingNonce(of address: Address, key: UInt256) -> UInt64 {
        let pending = Set(
            state.mempool.lazy.filter { $0.sender == address && $0.transaction.nonceKey == key && $0.expiringNonceHash == nil }.map(
                \.transaction.nonce))
        var next = state.world.nonce(of: address, key: key)
        while pending.contains(next) { next += 1 }
        return next
    }
}
