import EVM

/// Everything that makes up the chain at one moment, as one value: ``DevChain`` keeps the live
/// one and copies of it for `evm_snapshot`.
struct ChainState: Sendable {
    /// The canonical chain, genesis first; `blocks[n].number == n`.
    var blocks: [DevChainBlock]
    /// The state after each retained block, by number.
    var states: [UInt64: WorldState]
    /// The live state: after the head block, plus faucet credits made since.
    var world: WorldState
    /// Faucet credits, kept so that a reorg below them re-applies them (they are not transactions).
    var adjustments: [Adjustment] = []
    /// Accepted transactions waiting for a block, in arrival order.
    var mempool: [DevChainTransaction] = []
    /// The number of each canonical block, by hash.
    var numbers: [Hash32: UInt64] = [:]
    /// Where each canonical transaction was mined.
    var locations: [Hash32: Location] = [:]
    /// Blocks to wait, after the one that mines a transaction, before its receipt is served.
    var receiptDelay: UInt64 = 0
    /// The head number from which a mined transaction's receipt is served.
    var receiptVisibleAt: [Hash32: UInt64] = [:]
    /// Seconds added to the wall clock (`evm_increaseTime`).
    var timeOffset: Int64 = 0
    /// The timestamp of the next block (`evm_setNextBlockTimestamp`).
    var nextTimestamp: UInt64?
    /// Incremented by each reorg; part of block hashes so that replacement blocks differ.
    var epoch: UInt64 = 0

    struct Location: Sendable, Hashable {
        var block: UInt64
        var index: Int
    }

    /// A faucet credit, applied after block `afterBlock` was mined.
    struct Adjustment: Sendable, Hashable {
        var afterBlock: UInt64
        var address: Address
        var ether: UInt256
        var token: Address?
        var tokenAmount: UInt256

        func apply(to world: inout WorldState) {
            if !ether.isZero { world.credit(address, ether) }
            if let token, !tokenAmount.isZero { world.tokens[token]?.mint(address, tokenAmount) }
        }
    }

    var head: DevChainBlock { blocks[blocks.count - 1] }
}
