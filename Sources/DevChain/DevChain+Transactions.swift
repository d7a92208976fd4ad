import EVM

extension DevChain {
    /// Accepts a signed raw transaction into the mempool (and mines it at once with
    /// ``DevChainConfiguration/automine``), checking what a geth transaction pool checks.
    ///
    /// EIP-1559 (type 2) and EIP-155 legacy transactions that call an address are accepted (web3.py
    /// sends legacy ones when given a `gasPrice`, as x402's Python facilitator does). The nonce must be
    /// exactly the sender's next one (or replace a pending transaction with ≥ 10% higher fees).
    ///
    /// - Returns: The transaction hash.
    /// - Throws: ``DevChainError`` with a geth-like message: ``DevChainError/Code/invalidTransaction``,
    ///   ``DevChainError/Code/wrongChainID``, ``DevChainError/Code/invalidSender``,
    ///   ``DevChainError/Code/nonceTooLow``, ``DevChainError/Code/nonceTooHigh``,
    ///   ``DevChainError/Code/insufficientFunds``, ``DevChainError/Code/alreadyKnown``…
    @discardableResult
    public func sendRawTransaction(_ raw: [UInt8]) throws(DevChainError) -> Hash32 {
        guard let type = raw.first else { throw DevChainError(.invalidTransaction, "empty transaction") }
        if configuration.network == .tempo { return try sendTempoTransaction(raw) }
        guard type == EIP1559Transaction.typeByte || type >= 0xc0 else {
            throw DevChainError(.invalidTransaction, "transaction type not supported: type \(type); send type 2 or EIP-155 legacy")
        }
        let signed: SignedTransaction
        do {
            signed = try SignedTransaction(raw: raw)
        } catch {
            if error.code == .invalidSignature || error.code == .invalidRecoveryID {
                throw DevChainError(.invalidSender, "invalid sender: \(error.message)")
            }
            throw DevChainError(.invalidTransaction, "rlp: \(error.message)")
        }
        let hash = Keccak256.hash(raw)
        if state.locations[hash] != nil || state.mempool.contains(where: { $0.hash == hash }) {
            throw DevChainError(.alreadyKnown, "already known")
        }
        let tx = try DevChainTransaction.Fields(signed)
        guard tx.chainID == configuration.chainID else {
            throw DevChainError(.wrongChainID, "invalid chain id for signer: have \(tx.chainID) want \(configuration.chainID)")
        }
        guard tx.to != nil else {
            throw DevChainError(.contractCreationUnsupported, "contract creation is not supported: the dev chain's tokens are built in")
        }
        try checkGas(tip: tx.maxPriorityFeePerGas, feeCap: tx.maxFeePerGas, gasLimit: tx.gasLimit, intrinsic: Gas.intrinsic(tx.data))
        let sender: Address
        do {
            sender = try signed.recoverSender()
        } catch {
            throw DevChainError(.invalidSender, "invalid sender: \(error.message)")
        }
        try checkBaseFee(feeCap: tx.maxFeePerGas, sender: sender)
        try refuseIfAsked(sender)
        let accountNonce = state.world.nonce(of: sender)
        guard tx.nonce >= accountNonce else {
            throw DevChainError(.nonceTooLow, "nonce too low: address \(sender), tx: \(tx.nonce) state: \(accountNonce)")
        }
        let replaced = state.mempool.firstIndex { $0.sender == sender && $0.transaction.nonce == tx.nonce }
        if let replaced {
            let old = state.mempool[replaced].transaction
            guard Self.bumps(tx.maxFeePerGas, over: old.maxFeePerGas), Self.bumps(tx.maxPriorityFeePerGas, over: old.maxPriorityFeePerGas)
            else {
                throw DevChainError(.replacementUnderpriced, "replacement transaction underpriced")
            }
        } else {
            let next = pendingNonce(of: sender)
            guard tx.nonce == next else {
                throw DevChainError(.nonceTooHigh, "nonce too high: address \(sender), tx: \(tx.nonce) state: \(next)")
            }
        }
        let (gasCost, o1) = tx.maxFeePerGas.multipliedReportingOverflow(by: tx.gasLimit)
        let (cost, o2) = gasCost.addingReportingOverflow(tx.value)
        let balance = state.world.balance(of: sender)
        guard !o1, !o2, cost <= balance else {
            let overshot = o1 || o2 ? "more than 2^256" : (cost - balance).description
            throw DevChainError(
                .insufficientFunds,
                "insufficient funds for gas * price + value: address \(sender) have \(balance) want \(o1 || o2 ? "more than 2^256" : cost.description) (overshot \(overshot))"
            )
        }
        let accepted = DevChainTransaction(signed: signed, hash: hash, sender: sender, fields: tx)
        if let replaced {
            state.mempool[replaced] = accepted
        } else {
            state.mempool.append(accepted)
        }
        if automine { mineBlock(includeTransactions: true) }
        return hash
    }

    /// The pool's checks of the fee fields and gas limit, before the sender is known.
    func checkGas(tip: UInt256, feeCap: UInt256, gasLimit: UInt64, intrinsic: UInt64) throws(DevChainError) {
        guard tip <= feeCap else {
            throw DevChainError(
                .tipAboveFeeCap,
                "max priority fee per gas higher than max fee per gas: maxPriorityFeePerGas: \(tip), maxFeePerGas: \(feeCap)")
        }
        guard gasLimit <= configuration.blockGasLimit else {
            throw DevChainError(.gasLimitExceeded, "exceeds block gas limit: gas \(gasLimit), limit \(configuration.blockGasLimit)")
        }
        guard gasLimit >= intrinsic else {
            throw DevChainError(.intrinsicGasTooLow, "intrinsic gas too low: gas \(gasLimit), minimum needed \(intrinsic)")
        }
    }

    /// The pool's check that the fee cap covers the base fee.
    func checkBaseFee(feeCap: UInt256, sender: Address) throws(DevChainError) {
        guard feeCap >= configuration.baseFeePerGas else {
            throw DevChainError(
                .feeCapTooLow,
                "max fee per gas less than block base fee: address \(sender), maxFeePerGas: \(feeCap), baseFee: \(configuration.baseFeePerGas)"
            )
        }
    }

    /// Whether `new` is at least 110% of `old` (geth's default price bump).
    static func bumps(_ new: UInt256, over old: UInt256) -> Bool {
        let (scaledNew, o1) = new.multipliedReportingOverflow(by: 100)
        let (scaledOld, o2) = old.multipliedReportingOverflow(by: 110)
        if o2 { return o1 && new >= old }
        return o1 || scaledNew >= scaledOld
    }

    /// Mines `count` blocks, the first one taking the mempool's transactions.
    ///
    /// - Parameter timestamp: the first block's timestamp (later ones follow one second apart);
    ///   nil uses ``pendingTimestamp``.
    /// - Returns: The new blocks.
    /// - Throws: ``DevChainError/Code/invalidParams`` for a timestamp not after the head's.
    @discardableResult
    public func mine(blocks count: Int = 1, timestamp: UInt64? = nil) throws(DevChainError) -> [DevChainBlock] {
        guard count >= 1 else { throw DevChainError(.invalidParams, "block count must be at least 1") }
        if let timestamp {
            guard timestamp > state.head.timestamp else {
                throw DevChainError(.invalidParams, "timestamp \(timestamp) is not after the latest block's \(state.head.timestamp)")
            }
            state.nextTimestamp = timestamp
        }
        var mined: [DevChainBlock] = []
        for _ in 0..<count { mined.append(mineBlock(includeTransactions: true)) }
        return mined
    }

    /// Mines one block on the head.
    @discardableResult
    func mineBlock(includeTransactions: Bool) -> DevChainBlock {
        let parent = state.head
        let number = parent.number + 1
        let timestamp = max(pendingTimestamp, earliestNextTimestamp)
        state.nextTimestamp = nil
        let baseFee = configuration.baseFeePerGas
        var world = state.world
        var included: [DevChainTransaction] = []
        var outcomes: [(gasUsed: UInt64, price: UInt256, outcome: ExecutionOutcome)] = []
        var kept: [DevChainTransaction] = []
        var gasUsed: UInt64 = 0
        var fees: [UInt256?] = []
        if configuration.network == .tempo { world.expiringNonces = world.expiringNonces.filter { $0.value >= timestamp } }
        for candidate in includeTransactions ? state.mempool : [] {
            let tx = candidate.transaction
            if gasUsed + tx.gasLimit > configuration.blockGasLimit {
                kept.append(candidate)  // no room left: it waits.
                continue
            }
            switch readiness(candidate, in: world, timestamp: timestamp) {
            case .wait: kept.append(candidate)
            case .drop: continue  // stale, expired, or no longer affordable: dropped, as geth does.
            case .ready:
                let price = candidate.effectiveGasPrice(baseFee: baseFee)
                if tx.type == TempoTransaction.typeByte {
                    let (used, outcome, fee) = executeTempo(candidate, in: &world, price: price, timestamp: timestamp)
                    gasUsed += used
                    outcomes.append((used, price, outcome))
                    fees.append(fee)
                } else {
                    let (used, outcome) = execute(candidate, in: &world, price: price, timestamp: timestamp)
                    gasUsed += used
                    outcomes.append((used, price, outcome))
                    fees.append(nil)
                }
                included.append(candidate)
            }
        }
        if includeTransactions { state.mempool = kept }
        let hash = DevChainBlock.computeHash(
            parentHash: parent.hash, number: number, timestamp: timestamp, transactionHashes: included.map(\.hash), epoch: state.epoch,
            chainID: configuration.chainID)
        var receipts: [DevChainReceipt] = []
        var cumulative: UInt64 = 0
        var logIndex: UInt64 = 0
        for (index, tx) in included.enumerated() {
            let (used, price, outcome) = outcomes[index]
            cumulative += used
            receipts.append(
                DevChainReceipt(
                    transactionHash: tx.hash, transactionIndex: UInt64(index), blockHash: hash, blockNumber: number, from: tx.sender,
                    to: tx.transaction.to, succeeded: outcome.succeeded, gasUsed: used, cumulativeGasUsed: cumulative,
                    effectiveGasPrice: price, logs: outcome.logs, firstLogIndex: logIndex,
                    revertData: outcome.succeeded ? nil : outcome.output, feeToken: tx.feeToken,
                    feePayer: fees[index].map { _ in tx.payer },
                    fee: fees[index]))
            logIndex += UInt64(outcome.logs.count)
        }
        let block = DevChainBlock(
            number: number, hash: hash, parentHash: parent.hash, timestamp: timestamp, baseFeePerGas: baseFee,
            gasLimit: configuration.blockGasLimit, gasUsed: gasUsed, transactions: included, receipts: receipts,
            logsBloom: DevChainBlock.bloom(receipts.flatMap(\.logs)))
        state.blocks.append(block)
        state.numbers[hash] = number
        state.world = world
        state.states[number] = world
        if number >= UInt64(configuration.stateHistory) { state.states[number - UInt64(configuration.stateHistory)] = nil }
        for (index, tx) in included.enumerated() {
            state.locations[tx.hash] = .init(block: number, index: index)
            if state.receiptDelay > 0 { state.receiptVisibleAt[tx.hash] = number + state.receiptDelay }
        }
        return block
    }

    /// Whether a pending transaction can go in a block at `timestamp` on `world`.
    func readiness(_ candidate: DevChainTransaction, in world: WorldState, timestamp: UInt64) -> Readiness {
        if candidate.transaction.type == TempoTransaction.typeByte { return tempoReadiness(candidate, in: world, timestamp: timestamp) }
        let nonce = world.nonce(of: candidate.sender)
        if candidate.transaction.nonce > nonce { return .wait }
        guard candidate.transaction.nonce == nonce, let cost = Self.upfrontCost(candidate.transaction),
            cost <= world.balance(of: candidate.sender)
        else { return .drop }
        return .ready
    }

    /// gasLimit × maxFeePerGas + value; nil when it exceeds 2^256 - 1.
    static func upfrontCost(_ tx: DevChainTransaction.Fields) -> UInt256? {
        let (gasCost, o1) = tx.maxFeePerGas.multipliedReportingOverflow(by: tx.gasLimit)
        let (cost, o2) = gasCost.addingReportingOverflow(tx.value)
        return o1 || o2 ? nil : cost
    }

    /// Applies a transaction: nonce, gas (charged at the effective price), value, token call. A
    /// revert keeps the nonce and the gas and undoes the rest.
    func execute(
        _ candidate: DevChainTransaction, in world: inout WorldState, price: UInt256, timestamp: UInt64
    ) -> (gasUsed: UInt64, outcome: ExecutionOutcome) {
        let tx = candidate.transaction
        let sender = candidate.sender
        let to = tx.to!
        world.accounts[sender, default: AccountState()].nonce += 1
        let intrinsic = Gas.intrinsic(tx.data)
        var after = world
        // An account without code accepts a plain transfer.
        var outcome = after.call(
            to, tx.data, value: tx.value, context: .init(sender: sender, timestamp: timestamp, chainID: configuration.chainID))
        var gasUsed = intrinsic + outcome.gas
        if gasUsed > tx.gasLimit {
            outcome = .revertEmpty(gas: 0)  // out of gas: all of it is used.
            gasUsed = tx.gasLimit
        }
        if outcome.succeeded {
            after.debit(sender, tx.value)
            after.credit(to, tx.value)
            world = after
        }
        world.debit(sender, price.multipliedReportingOverflow(by: gasUsed).partialValue)
        return (gasUsed, outcome)
    }
}
