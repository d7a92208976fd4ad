import EVM

/// An event a transaction emitted, before it is positioned in a block.
public struct DevChainLog: Sendable, Hashable {
    /// The emitting contract.
    public var address: Address
    public var topics: [Hash32]
    public var data: [UInt8]

    public init(address: Address, topics: [Hash32], data: [UInt8]) {
        self.address = address
        self.topics = topics
        self.data = data
    }

    static let approvalTopic = ABI.eventTopic("Approval(address,address,uint256)")
    static let authorizationCanceledTopic = ABI.eventTopic("AuthorizationCanceled(address,bytes32)")

    static func transfer(token: Address, from: Address, to: Address, value: UInt256) -> DevChainLog {
        DevChainLog(address: token, topics: [TransferEvent.topic, from.word, to.word], data: value.bigEndianBytes)
    }

    static func transferWithMemo(token: Address, from: Address, to: Address, amount: UInt256, memo: Hash32) -> DevChainLog {
        DevChainLog(address: token, topics: [TransferWithMemoEvent.topic, from.word, to.word, memo], data: amount.bigEndianBytes)
    }

    static func approval(token: Address, owner: Address, spender: Address, value: UInt256) -> DevChainLog {
        DevChainLog(address: token, topics: [approvalTopic, owner.word, spender.word], data: value.bigEndianBytes)
    }

    static func authorizationUsed(token: Address, authorizer: Address, nonce: Hash32) -> DevChainLog {
        DevChainLog(address: token, topics: [AuthorizationUsedEvent.topic, authorizer.word, nonce], data: [])
    }

    static func authorizationCanceled(token: Address, authorizer: Address, nonce: Hash32) -> DevChainLog {
        DevChainLog(address: token, topics: [authorizationCanceledTopic, authorizer.word, nonce], data: [])
    }
}
