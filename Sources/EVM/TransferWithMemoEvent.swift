/// TIP-20's `TransferWithMemo(address indexed from, address indexed to, uint256 amount, bytes32 indexed memo)`,
/// emitted after the `Transfer` of the same movement.
public struct TransferWithMemoEvent: Sendable, Hashable {
    /// `0x57bc7354aa85aed339e000bccffabbc529466af35f0772c8f8ee1145927de7f0`.
    public static let topic = ABI.eventTopic("TransferWithMemo(address,address,uint256,bytes32)")

    public var token: Address
    public var from: Address
    public var to: Address
    public var amount: UInt256
    public var memo: Hash32

    public init(token: Address, from: Address, to: Address, amount: UInt256, memo: Hash32) {
        self.token = token
        self.from = from
        self.to = to
        self.amount = amount
        self.memo = memo
    }

    /// Decodes a log.
    ///
    /// - Throws: ``EVMError/Code/invalidLog`` for another event or a malformed one.
    public init(log: Log) throws(EVMError) {
        guard log.topics.count == 4, log.topics[0] == Self.topic, log.data.count == 32 else {
            throw EVMError(.invalidLog, "not a TransferWithMemo log (topic0, four topics and one data word expected)")
        }
        token = log.address
        from = try TransferEvent.address(fromTopic: log.topics[1])
        to = try TransferEvent.address(fromTopic: log.topics[2])
        amount = try UInt256(bigEndian: log.data)
        memo = log.topics[3]
    }
}
