import EVM

/// Fault injection, the faucet and time control: what a test needs beyond a real node.
extension DevChain {
    /// What a reorg did.
    public struct ReorgResult: Sendable, Hashable {
        /// Hashes of the blocks removed from the canonical chain, lowest first.
        public var removedBlocks: [Hash32]
        /// Hashes of the transactions those blocks held, in order.
        public var transactions: [Hash32]
        /// Whether they went back to the mempool (else they were dropped).
        public var requeued: Bool
        /// The replacement blocks mined on the fork point, lowest first.
        public var newBlocks: [Hash32]
    }

    /// Removes block `fromBlock` and every block after it, as ``reorg(depth:requeue:replacementBlocks:)``
    /// with the depth counted from the head at that moment: a caller that read a block number
    /// earlier needs no second read that a newly mined block could make stale.
    @discardableResult
    public func reorg(fromBlock: UInt64, requeue: Bool = true, replacementBlocks: Int? = nil) throws(DevChainError) -> ReorgResult {
        let head = state.head.number
        guard fromBlock >= 1, fromBlock <= head else {
            throw DevChainError(.invalidParams, "reorg fromBlock must be from 1 to \(head) (genesis stays), got \(fromBlock)")
        }
        return try reorg(depth: Int(head - fromBlock + 1), requeue: requeue, replacementBlocks: replacementBlocks)
    }

    /// Removes the last `depth` blocks and mines `replacementBlocks` empty blocks in their place
    /// (by default as many, so the height is unchanged while every hash from the fork point up
    /// changes). Their transactions go back to the mempool when `requeue` (mined again by the next
    /// block) or are dropped. Receipts and logs of the removed blocks are gone: `eth_getLogs`
    /// always reflects the canonical chain.
    ///
    /// - Throws: ``DevChainError/Code/invalidParams`` for a depth of 0 or one reaching genesis, or on
    ///   the Tempo network (deterministic finality),
    ///   ``DevChainError/Code/unknownBlock`` when the fork point's state is no longer retained.
    @discardableResult
    public func reorg(depth: Int, requeue: Bool = true, replacementBlocks: Int? = nil) throws(DevChainError) -> ReorgResult {
        guard configuration.network != .tempo else {
            throw DevChainError(.invalidParams, "the Tempo network has deterministic finality: it does not reorganise")
        }
        let head = state.head.number
        guard depth >= 1, UInt64(depth) <= head else {
            throw DevChainError(.invalidParams, "reorg depth must be from 1 to \(head) (genesis stays), got \(depth)")
        }
        let replacements = replacementBlocks ?? depth
        guard replacements >= 0 else { throw DevChainError(.invalidParams, "replacement block count must not be negative") }
        let forkPoint = head - UInt64(depth)
        guard var world = state.states[forkPoint] else {
            throw DevChainError(
                .unknownBlock,
                "the state of block \(forkPoint) is no longer retained: reorg at most \(configuration.stateHistory - 1) blocks")
        }
        let removed = Array(state.blocks[Int(forkPoint + 1)...])
        state.blocks.removeLast(depth)
        for number in forkPoint + 1...head { state.states[number] = nil }
        for block in removed { state.numbers[block.hash] = nil }
        let transactions = removed.flatMap(\.transactions)
        for tx in transactions {
            state.locations[tx.hash] = nil
            state.receiptVisibleAt[tx.hash] = nil
        }
        // Faucet credits made after the fork point are not transactions: they survive.
        for index in state.adjustments.indices where state.adjustments[index].afterBlock >= forkPoint {
            state.adjustments[index].apply(to: &world)
            state.adjustments[index].afterBlock = forkPoint
        }
        state.world = world
        if requeue { state.mempool = transactions + state.mempool }
        state.epoch += 1
        var newBlocks: [Hash32] = []
        for _ in 0..<replacements { newBlocks.append(mineBlock(includeTransactions: false).hash) }
        return ReorgResult(
            removedBlocks: removed.map(\.hash), transactions: transactions.map(\.hash), requeued: requeue, newBlocks: newBlocks)
    }

    /// Drops a pending transaction from the mempool, as a node that evicts it would.
    ///
    /// - Returns: false when no pending transaction has the hash (unknown or already mined).
    @discardableResult
    public func dropTransaction(_ hash: Hash32) -> Bool {
        guard let index = state.mempool.firstIndex(where: { $0.hash == hash }) else { return false }
        state.mempool.remove(at: index)
        return true
    }

    /// Refuses `count` transactions of `sender` after letting the next `after` through, with
    /// geth's `txpool is full`, as a node whose pool is full would: for tests of how a sender
    /// recovers from a transaction the node did not take.
    public func refuseTransactions(from sender: Address, count: Int, after: Int = 0) {
        refusals[sender] = count > 0 ? (max(0, after), count) : nil
    }

    /// Throws when ``refuseTransactions(from:count:after:)`` asked to refuse this transaction.
    func refuseIfAsked(_ sender: Address) throws(DevChainError) {
        guard var refusal = refusals[sender] else { return }
        defer { refusals[sender] = refusal.count > 0 ? refusal : nil }
        if refusal.after > 0 {
            refusal.after -= 1
            return
        }
        refusal.count -= 1
        throw DevChainError(.txPoolFull, "txpool is full")
    }

    /// Holds back the receipts of transactions mined from now on until `blocks` more blocks are
    /// mined on top of theirs (0 restores immediate receipts). Blocks and logs are not delayed.
    public func delayReceipts(blocks: UInt64) {
        state.receiptDelay = blocks
    }

    /// The faucet: credits wei and, optionally, mints tokens to an address. These are state
    /// edits (like `anvil_setBalance`), not transactions: no block, no logs; a reorg keeps them.
    ///
    /// - Throws: ``DevChainError/Code/unknownToken``.
    public func fund(_ address: Address, ether: UInt256, token: Address? = nil, tokenAmount: UInt256 = .zero) throws(DevChainError) {
        if let token, state.world.tokens[token] == nil {
            throw DevChainError(.unknownToken, "no token is deployed at \(token)")
        }
        let adjustment = ChainState.Adjustment(
            afterBlock: state.head.number, address: address, ether: ether, token: token, tokenAmount: tokenAmount)
        adjustment.apply(to: &state.world)
        state.adjustments.append(adjustment)
    }

    /// Saves the whole chain (blocks, state, mempool, clock) and returns an id for ``revert(to:)``.
    public func snapshot() -> UInt64 {
        let id = nextSnapshotID
        nextSnapshotID += 1
        snapshots[id] = state
        return id
    }

    /// Restores a snapshot; it and every later snapshot are consumed (ganache/anvil semantics).
    ///
    /// - Returns: false for an unknown (or consumed) id.
    @discardableResult
    public func revert(to id: UInt64) -> Bool {
        guard let saved = snapshots[id] else { return false }
        state = saved
        snapshots = snapshots.filter { $0.key < id }
        return true
    }

    /// Moves the clock forward for the blocks to come (`evm_increaseTime`).
    ///
    /// - Returns: The total offset in seconds.
    @discardableResult
    public func increaseTime(by seconds: Int64) -> Int64 {
        state.timeOffset = state.timeOffset.addingReportingOverflow(seconds).overflow ? state.timeOffset : state.timeOffset + seconds
        return state.timeOffset
    }

    /// Sets the next block's timestamp (`evm_setNextBlockTimestamp`); later blocks follow the clock
    /// again, shifted so that time does not go backwards.
    ///
    /// - Throws: ``DevChainError/Code/invalidParams`` unless after the latest block's timestamp.
    public func setNextBlockTimestamp(_ timestamp: UInt64) throws(DevChainError) {
        guard timestamp > state.head.timestamp else {
            throw DevChainError(.invalidParams, "timestamp \(timestamp) is not after the latest block's \(state.head.timestamp)")
        }
        state.nextTimestamp = timestamp
        let clock = Int64(clamping: wallClock())
        state.timeOffset = max(state.timeOffset, Int64(clamping: timestamp) - clock)
    }
}
