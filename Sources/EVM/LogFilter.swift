/// The filter of `eth_getLogs`.
public struct LogFilter: Sendable, Hashable {
    public var fromBlock: BlockTag?
    public var toBlock: BlockTag?
    /// Emitting contracts; empty matches any.
    public var addresses: [Address]
    /// Per topic position: nil matches anything, otherwise any of the listed values.
    public var topics: [[Hash32]?]

    public init(fromBlock: BlockTag? = nil, toBlock: BlockTag? = nil, addresses: [Address] = [], topics: [[Hash32]?] = []) {
        self.fromBlock = fromBlock
        self.toBlock = toBlock
        self.addresses = addresses
        self.topics = topics
    }

    var rpcValue: RPCValue {
        var object: [String: RPCValue] = [:]
        if let fromBlock { object["fromBlock"] = fromBlock.rpcValue }
        if let toBlock { object["toBlock"] = toBlock.rpcValue }
        if addresses.count == 1 {
            object["address"] = .string(addresses[0].lowercased)
        } else if !addresses.isEmpty {
            object["address"] = .array(addresses.map { .string($0.lowercased) })
        }
        if !topics.isEmpty {
            object["topics"] = .array(
                topics.map { alternatives in
                    guard let alternatives else { return .null }
                    return alternatives.count == 1 ? .string(alternatives[0].hex) : .array(alternatives.map { .string($0.hex) })
                })
        }
        return .object(object)
    }
}
