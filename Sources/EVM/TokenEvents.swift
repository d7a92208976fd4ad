/// An ERC-20 `Transfer(address indexed from, address indexed to, uint256 value)` event.
public struct TransferEvent: Sendable, Hashable {
    /// `0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef`.
    public static let topic = ABI.eventTopic("Transfer(address,address,uint256)")

    public var token: Address
    public var from: Address
    public var to: Address
    public var value: UInt256

    public init(token: Address, from: Address, to: Address, value: UInt256) {
        self.token = token
        self.from = from
        self.to = to
        self.value = value
    }

    /// Decodes a log. ERC-721's `Transfer` shares the topic but indexes its third argument; it is
    /// rejected by the topic count.
    ///
    /// - Throws: ``EVMError/Code/invalidLog`` for another event or a malformed one.
    public init(log: Log) throws(EVMError) {
        guard log.topics.count == 3, log.topics[0] == Self.topic else {
            throw EVMError(.invalidLog, "not an ERC-20 Transfer log (topic0 and three topics expected)")
        }
        let values: [ABIValue]
        do {
            values = try ABI.decode([.uint256], from: log.data)
        } catch {
            throw EVMError(.invalidLog, "Transfer data: \(error.message)")
        }
        guard log.data.count == 32 else { throw EVMError(.invalidLog, "Transfer data must be one word, got \(log.data.count) bytes") }
        token = log.address
        from = try Self.address(fromTopic: log.topics[1])
        to = try Self.address(fromTopic: log.topics[2])
        value = values[0].uint!
    }

    static func address(fromTopic topic: Hash32) throws(EVMError) -> Address {
        let bytes = topic.bytes
        guard bytes.prefix(12).allSatisfy({ $0 == 0 }) else { throw EVMError(.invalidLog, "address topic with dirty high bytes") }
        return Address(lastBytesOf: topic)
    }
}

/// EIP-3009's `AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)` event: the
/// token marked the nonce used (the transfer it authorized happened in the same transaction).
public struct AuthorizationUsedEvent: Sendable, Hashable {
    /// keccak256("AuthorizationUsed(address,bytes32)").
    public static let topic = ABI.eventTopic("AuthorizationUsed(address,bytes32)")

    public var token: Address
    public var authorizer: Address
    public var nonce: Hash32

    public init(token: Address, authorizer: Address, nonce: Hash32) {
        self.token = token
        self.authorizer = authorizer
        self.nonce = nonce
    }

    /// Decodes a log.
    ///
    /// - Throws: ``EVMError/Code/invalidLog`` for another event or a malformed one.
    public init(log: Log) throws(EVMError) {
        guard log.topics.count == 3, log.topics[0] == Self.topic, log.data.isEmpty else {
            throw EVMError(.invalidLog, "not an AuthorizationUsed log (topic0, three topics and no data expected)")
        }
        token = log.address
        authorizer = try TransferEvent.address(fromTopic: log.topics[1])
        nonce = log.topics[2]
    }
}
