/// A transaction receipt, as `eth_getTransactionReceipt` returns it.
public struct Receipt: Sendable, Hashable, Decodable {
    public var transactionHash: Hash32
    public var transactionIndex: UInt64
    public var blockHash: Hash32
    public var blockNumber: UInt64
    public var from: Address
    /// Nil for a contract creation.
    public var to: Address?
    public var contractAddress: Address?
    /// 1 for success, 0 for a revert; absent on pre-Byzantium receipts (which carry a state root).
    public var status: UInt64?
    public var gasUsed: UInt64
    public var cumulativeGasUsed: UInt64
    /// The price per gas actually paid; absent on nodes older than London.
    public var effectiveGasPrice: UInt256?
    public var logs: [Log]
    /// The EIP-2718 type (0 legacy, 2 EIP-1559…).
    public var type: UInt64?
    /// Tempo: the TIP-20 the fee was paid in.
    public var feeToken: Address?
    /// Tempo: who paid the fee (the sender or its sponsor).
    public var feePayer: Address?

    /// Whether the transaction executed without reverting.
    public var succeeded: Bool { status == 1 }

    enum CodingKeys: String, CodingKey {
        case transactionHash, transactionIndex, blockHash, blockNumber, from, to, contractAddress, status, gasUsed, cumulativeGasUsed,
            effectiveGasPrice, logs, type, feeToken, feePayer
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        transactionHash = try c.decode(Hash32.self, forKey: .transactionHash)
        transactionIndex = try c.decode(Quantity.self, forKey: .transactionIndex).uint64(at: c.codingPath)
        blockHash = try c.decode(Hash32.self, forKey: .blockHash)
        blockNumber = try c.decode(Quantity.self, forKey: .blockNumber).uint64(at: c.codingPath)
        from = try c.decode(Address.self, forKey: .from)
        to = try c.decodeIfPresent(Address.self, forKey: .to)
        contractAddress = try c.decodeIfPresent(Address.self, forKey: .contractAddress)
        status = try c.decodeIfPresent(Quantity.self, forKey: .status)?.uint64(at: c.codingPath)
        gasUsed = try c.decode(Quantity.self, forKey: .gasUsed).uint64(at: c.codingPath)
        cumulativeGasUsed = try c.decode(Quantity.self, forKey: .cumulativeGasUsed).uint64(at: c.codingPath)
        effectiveGasPrice = try c.decodeIfPresent(Quantity.self, forKey: .effectiveGasPrice)?.value
        logs = try c.decode([Log].self, forKey: .logs)
        type = try c.decodeIfPresent(Quantity.self, forKey: .type)?.uint64(at: c.codingPath)
        feeToken = try c.decodeIfPresent(Address.self, forKey: .feeToken)
        feePayer = try c.decodeIfPresent(Address.self, forKey: .feePayer)
    }
}
