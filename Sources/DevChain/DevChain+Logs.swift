import EVM

extension DevChain {
    /// The most blocks one `eth_getLogs` may scan.
    public static let maxLogRange: UInt64 = 100_000

    /// `eth_getLogs` on the canonical chain: the logs of `blockHash`, or of the blocks from
    /// `filter.fromBlock` to `filter.toBlock` (both default to latest), that match the addresses
    /// (any when empty) and the topics (per position: nil matches anything, else any listed value).
    ///
    /// - Throws: ``DevChainError/Code/unknownBlock`` for an unknown block hash or number,
    ///   ``DevChainError/Code/invalidParams`` for a reversed or too wide range.
    public func logs(_ filter: LogFilter, blockHash: Hash32? = nil) throws(DevChainError) -> [Log] {
        let range: ClosedRange<UInt64>
        if let blockHash {
            guard let block = block(hash: blockHash) else { throw DevChainError(.unknownBlock, "unknown block \(blockHash)") }
            range = block.number...block.number
        } else {
            let from = try resolve(filter.fromBlock ?? .latest)
            let to = try resolve(filter.toBlock ?? .latest)
            guard from <= to else { throw DevChainError(.invalidParams, "invalid block range params: fromBlock \(from) > toBlock \(to)") }
            guard to - from < Self.maxLogRange else {
                throw DevChainError(.invalidParams, "block range too large: at most \(Self.maxLogRange) blocks per query")
            }
            range = from...to
        }
        var result: [Log] = []
        for number in range {
            let block = state.blocks[Int(number)]
            for receipt in block.receipts {
                for (offset, log) in receipt.logs.enumerated() where Self.matches(log, filter) {
                    result.append(
                        Log(
                            address: log.address, topics: log.topics, data: log.data, blockNumber: block.number, blockHash: block.hash,
                            transactionHash: receipt.transactionHash, transactionIndex: receipt.transactionIndex,
                            logIndex: receipt.firstLogIndex + UInt64(offset)))
                }
            }
        }
        return result
    }

    static func matches(_ log: DevChainLog, _ filter: LogFilter) -> Bool {
        if !filter.addresses.isEmpty && !filter.addresses.contains(log.address) { return false }
        for (position, alternatives) in filter.topics.enumerated() {
            guard let alternatives, !alternatives.isEmpty else { continue }
            guard position < log.topics.count, alternatives.contains(log.topics[position]) else { return false }
        }
        return true
    }
}
