import EVM

/// The outcome of a mined transaction.
public struct DevChainReceipt: Sendable, Hashable {
    public var transactionHash: Hash32
    public var transactionIndex: UInt64
    public var blockHash: Hash32
    public var blockNumber: UInt64
    public var from: Address
    public var to: Address?
    /// True for status 1.
    public var succeeded: Bool
    public var gasUsed: UInt64
    public var cumulativeGasUsed: UInt64
    public var effectiveGasPrice: UInt256
    public var logs: [DevChainLog]
    /// Index in the block of the first log.
    public var firstLogIndex: UInt64
    /// What a reverted transaction returned (`Error(string)` data for the token's `require`s, empty
    /// for out of gas or invalid calldata); nil when it succeeded.
    public var revertData: [UInt8]?
    /// Tempo: the TIP-20 the fee was paid in.
    public var feeToken: Address? = nil
    /// Tempo: who paid the fee (the sender, or its sponsor).
    public var feePayer: Address? = nil
    /// Tempo: the fee charged, in the fee token's units.
    public var fee: UInt256? = nil

    /// The decoded revert reason of a failed transaction.
    public var revertReason: RevertReason? { revertData.map { RevertReason(data: $0) } }
}
