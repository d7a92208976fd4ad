/// A block header and its transaction hashes, as `eth_getBlockByNumber` returns it.
public struct Block: Sendable, Hashable, Decodable {
    public var number: UInt64
    public var hash: Hash32
    public var parentHash: Hash32
    /// Unix seconds.
    public var timestamp: UInt64
    public var gasLimit: UInt64
    public var gasUsed: UInt64
    /// Absent before London.
    public var baseFeePerGas: UInt256?
    /// Hashes of the transactions, in order (also filled when full transactions were asked for).
    public var transactionHashes: [Hash32]

    enum CodingKeys: String, CodingKey {
        case number, hash, parentHash, timestamp, gasLimit, gasUsed, baseFeePerGas, transactions
    }

    private struct TransactionObject: Decodable { var hash: Hash32 }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        number = try c.decode(Quantity.self, forKey: .number).uint64(at: c.codingPath)
        hash = try c.decode(Hash32.self, forKey: .hash)
        parentHash = try c.decode(Hash32.self, forKey: .parentHash)
        timestamp = try c.decode(Quantity.self, forKey: .timestamp).uint64(at: c.codingPath)
        gasLimit = try c.decode(Quantity.self, forKey: .gasLimit).uint64(at: c.codingPath)
        gasUsed = try c.decode(Quantity.self, forKey: .gasUsed).uint64(at: c.codingPath)
        baseFeePerGas = try c.decodeIfPresent(Quantity.self, forKey: .baseFeePerGas)?.value
        if let hashes = try? c.decode([Hash32].self, forKey: .transactions) {
            transactionHashes = hashes
        } else {
            transactionHashes = try c.decode([TransactionObject].self, forKey: .transactions).map(\.hash)
        }
    }
}
