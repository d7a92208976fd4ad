import EVM
import Foundation

/// A local Ethereum chain whose token contracts are implemented natively (no bytecode
/// interpreter) with FiatToken v2.2's EIP-3009 semantics, for tests and offline development.
///
/// Drive it directly (this actor) or over JSON-RPC (``DevChainServer``). The state is in memory
/// only: the chain starts from genesis every time.
///
/// "Now", for the tokens' time windows, is the timestamp of the block being executed: for
/// `eth_call` and `eth_estimateGas` on the latest state, the timestamp the next block would get.
public actor DevChain {
    public nonisolated let configuration: DevChainConfiguration
    var state: ChainState
    var snapshots: [UInt64: ChainState] = [:]
    var nextSnapshotID: UInt64 = 1
    /// Whether a block is mined as soon as a transaction arrives (starts as
    /// ``DevChainConfiguration/automine``; `evm_setAutomine` changes it).
    public private(set) var automine: Bool
    let wallClock: @Sendable () -> UInt64
    /// Transactions to refuse per sender: how many to let through first, then how many to refuse.
    var refusals: [Address: (after: Int, count: Int)] = [:]

    /// Creates the chain with its genesis block: tokens deployed, funded accounts credited.
    ///
    /// - Parameter wallClock: Unix seconds (injectable for tests).
    /// - Throws: ``DevChainError/Code/invalidConfiguration``.
    public init(
        configuration: DevChainConfiguration = .init(),
        wallClock: @escaping @Sendable () -> UInt64 = { UInt64(max(0, Date().timeIntervalSince1970)) }
    ) throws(DevChainError) {
        try configuration.validate()
        self.configuration = configuration
        self.wallClock = wallClock
        self.automine = configuration.automine
        var world = WorldState()
        for token in configuration.tokens {
            var tokenState = TokenState(configuration: token, chainID: configuration.chainID)
            for account in configuration.fundedAccounts where !token.initialBalance.isZero {
                tokenState.mint(account, token.initialBalance)
            }
            world.tokens[token.address] = tokenState
        }
        for account in configuration.fundedAccounts { world.credit(account, configuration.initialEtherBalance) }
        if configuration.network == .ethereum {
            world.batchSettlement = BatchSettlementState(chainID: configuration.chainID)
            world.permit2 = Permit2State(chainID: configuration.chainID)
        }
        if configuration.network == .tempo {
            for (version, address) in configuration.sessionEscrows {
                world.escrows[address] = ChannelEscrowState(version: version, address: address, chainID: configuration.chainID)
            }
        }
        let timestamp = configuration.genesisTimestamp ?? wallClock()
        let genesis = DevChainBlock(
            number: 0,
            hash: DevChainBlock.computeHash(
                parentHash: .zero, number: 0, timestamp: timestamp, transactionHashes: [], epoch: 0, chainID: configuration.chainID),
            parentHash: .zero, timestamp: timestamp, baseFeePerGas: configuration.baseFeePerGas, gasLimit: configuration.blockGasLimit,
            gasUsed: 0, transactions: [], receipts: [], logsBloom: DevChainBlock.bloom([]))
        state = ChainState(blocks: [genesis], states: [0: world], world: world, numbers: [genesis.hash: 0])
    }

    /// Turns automine on or off.
    public func setAutomine(_ enabled: Bool) { automine = enabled }

    /// The chain id.
    public nonisolated var chainID: UInt64 { configuration.chainID }

    /// The deployed tokens.
    public nonisolated var tokens: [TokenConfiguration] { configuration.tokens }

    // MARK: Blocks

    /// The number of the latest block.
    public var blockNumber: UInt64 { state.head.number }

    /// The latest block.
    public var latestBlock: DevChainBlock { state.head }

    /// A canonical block by number; nil above the head.
    public func block(number: UInt64) -> DevChainBlock? {
        number < UInt64(state.blocks.count) ? state.blocks[Int(number)] : nil
    }

    /// A canonical block by hash; nil for an unknown hash or a block a reorg removed.
    public func block(hash: Hash32) -> DevChainBlock? {
        state.numbers[hash].map { state.blocks[Int($0)] }
    }

    /// The block the mempool would make now: number, parent and timestamp of the next block, the
    /// pending transactions, no hash and no receipts (they are known once mined).
    public var pendingBlock: DevChainBlock {
        let head = state.head
        return DevChainBlock(
            number: head.number + 1, hash: .zero, parentHash: head.hash, timestamp: max(pendingTimestamp, earliestNextTimestamp),
            baseFeePerGas: configuration.baseFeePerGas, gasLimit: configuration.blockGasLimit, gasUsed: 0, transactions: state.mempool,
            receipts: [], logsBloom: DevChainBlock.bloom([]))
    }

    /// The number a block tag designates. `safe` and `finalized` are the head: the dev chain
    /// only reorganises when told to.
    ///
    /// - Throws: ``DevChainError/Code/unknownBlock`` for a number above the head.
    public func resolve(_ tag: BlockTag) throws(DevChainError) -> UInt64 {
        switch tag {
        case .latest, .pending, .safe, .finalized: return state.head.number
        case .earliest: return 0
        case .number(let number):
            guard number <= state.head.number else {
                throw DevChainError(.unknownBlock, "block \(number) is above the head \(state.head.number)")
            }
            return number
        }
    }

    /// The earliest timestamp the next block may have: after the head's on Ethereum; the head's own
    /// on Tempo, whose sub-second blocks share a second (so block time cannot run ahead of the
    /// wall clock, which validity windows are compared with).
    var earliestNextTimestamp: UInt64 { state.head.timestamp + (configuration.network == .tempo ? 0 : 1) }

    /// The timestamp the next block will get: the one set by ``setNextBlockTimestamp(_:)``, else
    /// the wall clock plus ``increaseTime(by:)`` offsets, and always after the head's.
    public var pendingTimestamp: UInt64 {
        if let next = state.nextTimestamp { return next }
        let clock = Int64(clamping: wallClock()) + state.timeOffset
        return max(earliestNextTimestamp, UInt64(max(0, clock)))
    }

    // MARK: State

    /// The world state at a tag (the live state for latest/pending/safe/finalized).
    func world(at tag: BlockTag) throws(DevChainError) -> WorldState {
        switch tag {
        case .latest, .pending, .safe, .finalized: return state.world
        default:
            let number = try resolve(tag)
            if number == state.head.number { return state.world }
            guard let world = state.states[number] else {
                throw DevChainError(
                    .unknownBlock, "the state of block \(number) is no longer retained (history of \(configuration.stateHistory) blocks)")
            }
            return world
        }
    }

    /// Wei held by an account. On the Tempo network, which has no native token, the placeholder a
    /// Tempo node returns for every account.
    public func balance(of address: Address, at tag: BlockTag = .latest) throws(DevChainError) -> UInt256 {
        let world = try self.world(at: tag)
        return configuration.network == .tempo ? Self.tempoBalancePlaceholder : world.balance(of: address)
    }

    /// What Tempo nodes answer to `eth_getBalance`.
    public static let tempoBalancePlaceholder = try! UInt256(hex: "0x9612084f0316e0ebd5182f398e5195a51b5ca47667d4c9b26c9b26c9b26c9b2")

    /// The nonce of one of an account's Tempo nonce lanes (0: the protocol nonce).
    public func nonce(of address: Address, key: UInt256) -> UInt64 { state.world.nonce(of: address, key: key) }

    /// The account's nonce; with `.pending`, counting its transactions in the mempool.
    public func transactionCount(of address: Address, at tag: BlockTag = .latest) throws(DevChainError) -> UInt64 {
        guard tag == .pending else { return try world(at: tag).nonce(of: address) }
        return pendingNonce(of: address)
    }

    /// The next nonce after the account's gapless run of pending transactions.
    func pendingNonce(of address: Address) -> UInt64 { pendingNonce(of: address, key: .zero) }

    /// Whether a token is deployed at the address (what `eth_getCode` reports as code).
    public func isToken(_ address: Address) -> Bool { state.world.tokens[address] != nil }

    /// Whether a session escrow is deployed at the address (Tempo network).
    public func isEscrow(_ address: Address) -> Bool { state.world.escrows[address] != nil }

    /// Whether a contract is deployed at the address: a token, an escrow, x402's batch settlement,
    /// its ERC-3009 deposit collector or Multicall3.
    public func hasCode(_ address: Address) -> Bool { state.world.hasCode(address) }

    /// A token balance in atomic units.
    ///
    /// - Throws: ``DevChainError/Code/unknownToken``.
    public func tokenBalance(token: Address, owner: Address, at tag: BlockTag = .latest) throws(DevChainError) -> UInt256 {
        try tokenState(token, at: tag).balance(of: owner)
    }

    /// The token's total supply.
    public func tokenTotalSupply(token: Address, at tag: BlockTag = .latest) throws(DevChainError) -> UInt256 {
        try tokenState(token, at: tag).totalSupply
    }

    /// EIP-3009 `authorizationState(authorizer, nonce)`: used or canceled.
    public func authorizationState(token: Address, authorizer: Address, nonce: Hash32) throws(DevChainError) -> Bool {
        try tokenState(token, at: .latest).isUsed(authorizer, nonce)
    }

    func tokenState(_ token: Address, at tag: BlockTag) throws(DevChainError) -> TokenState {
        guard let tokenState = try world(at: tag).tokens[token] else {
            throw DevChainError(.unknownToken, "no token is deployed at \(token)")
        }
        return tokenState
    }

    // MARK: Transactions

    /// The transactions waiting for a block, in arrival order.
    public var pendingTransactions: [DevChainTransaction] { state.mempool }

    /// A transaction by hash: mined on the canonical chain (with its block and index) or pending.
    public func transaction(_ hash: Hash32) -> (transaction: DevChainTransaction, block: DevChainBlock?, index: Int?)? {
        if let location = state.locations[hash] {
            let block = state.blocks[Int(location.block)]
            return (block.transactions[location.index], block, location.index)
        }
        if let pending = state.mempool.first(where: { $0.hash == hash }) { return (pending, nil, nil) }
        return nil
    }

    /// The receipt of a mined transaction; nil while pending, unknown, removed by a reorg, or held
    /// back by ``delayReceipts(blocks:)``.
    public func receipt(_ hash: Hash32) -> DevChainReceipt? {
        guard let location = state.locations[hash] else { return nil }
        if let visibleAt = state.receiptVisibleAt[hash], state.head.number < visibleAt { return nil }
        return state.blocks[Int(location.block)].receipts[location.index]
    }
}
