/// A log (event) emitted by a transaction, as `eth_getLogs` and receipts return it.
public struct Log: Sendable, Hashable, Decodable {
    /// The contract that emitted it.
    public var address: Address
    /// Topic 0 is the event signature's hash (unless anonymous); then the indexed arguments.
    public var topics: [Hash32]
    /// The ABI-encoded non-indexed arguments.
    public var data: [UInt8]
    /// Absent for pending logs.
    public var blockNumber: UInt64?
    public var blockHash: Hash32?
    public var transactionHash: Hash32?
    public var transactionIndex: UInt64?
    /// The log's position in its block.
    public var logIndex: UInt64?
    /// True when a chain reorganisation removed the log (sent by filters and subscriptions).
    public var removed: Bool

    public init(
        address: Address, topics: [Hash32], data: [UInt8], blockNumber: UInt64? = nil, blockHash: Hash32? = nil,
        transactionHash: Hash32? = nil, transactionIndex: UInt64? = nil, logIndex: UInt64? = nil, removed: Bool = false
    ) {
        self.address = address
        self.topics = topics
        self.data = data
        self.blockNumber = blockNumber
        self.blockHash = blockHash
        self.transactionHash = transactionHash
        self.transactionIndex = transactionIndex
        self.logIndex = logIndex
        self.removed = removed
    }

    enum CodingKeys: String, CodingKey {
        case address, topics, data, blockNumber, blockHash, transactionHash, transactionIndex, logIndex, removed
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        address = try c.decode(Address.self, forKey: .address)
        topics = try c.decode([Hash32].self, forKey: .topics)
        data = try c.decode(HexData.self, forKey: .data).bytes
        blockNumber = try c.decodeIfPresent(Quantity.self, forKey: .blockNumber)?.uint64(at: c.codingPath)
        blockHash = try c.decodeIfPresent(Hash32.self, forKey: .blockHash)
        transactionHash = try c.decodeIfPresent(Hash32.self, forKey: .transactionHash)
        transactionIndex = try c.decodeIfPresent(Quantity.self, forKey: .transactionIndex)?.uint64(at: c.codingPath)
        logIndex = try c.decodeIfPresent(Quantity.self, forKey: .logIndex)?.uint64(at: c.codingPath)
        removed = try c.decodeIfPresent(Bool.self, forKey: .removed) ?? false
    }
}
