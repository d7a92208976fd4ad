import EVM

/// A block of the dev chain with its transactions and their receipts.
public struct DevChainBlock: Sendable, Hashable {
    public var number: UInt64
    /// Not a real header hash (there is no state trie), but unique: a block that replaces another
    /// in a reorg always gets a new hash.
    public var hash: Hash32
    public var parentHash: Hash32
    /// Unix seconds.
    public var timestamp: UInt64
    public var baseFeePerGas: UInt256
    public var gasLimit: UInt64
    public var gasUsed: UInt64
    public var transactions: [DevChainTransaction]
    public var receipts: [DevChainReceipt]
    /// The 2048-bit bloom filter of the logs' addresses and topics.
    public var logsBloom: [UInt8]

    /// keccak256 over the header fields that make a block unique, including the reorg epoch.
    static func computeHash(
        parentHash: Hash32, number: UInt64, timestamp: UInt64, transactionHashes: [Hash32], epoch: UInt64, chainID: UInt64
    ) -> Hash32 {
        let items: [RLPItem] = [
            .bytes(parentHash.bytes), .uint(UInt256(number)), .uint(UInt256(timestamp)), .list(transactionHashes.map { .bytes($0.bytes) }),
            .uint(UInt256(epoch)), .uint(UInt256(chainID)), .string("settle-devchain"),
        ]
        return Keccak256.hash(RLP.encode(.list(items)))
    }

    /// The logs bloom of a set of logs (yellow paper, §4.3.1).
    static func bloom(_ logs: [DevChainLog]) -> [UInt8] {
        var bloom = [UInt8](repeating: 0, count: 256)
        func add(_ bytes: [UInt8]) {
            let hash = Keccak256.hash(bytes).bytes
            for pair in 0..<3 {
                let bit = (Int(hash[2 * pair]) << 8 | Int(hash[2 * pair + 1])) & 2047
                bloom[255 - bit / 8] |= UInt8(1 << (bit % 8))
            }
        }
        for log in logs {
            add(log.address.bytes)
            for topic in log.topics { add(topic.bytes) }
        }
        return bloom
    }
}
