/// One call of a Tempo transaction's batch: `[to, value, input]` in RLP.
public struct TempoCall: Sendable, Hashable {
    /// The callee; nil creates a contract (an empty `to` on the wire).
    public var to: Address?
    public var value: UInt256
    public var input: [UInt8]

    public init(to: Address?, value: UInt256 = .zero, input: [UInt8] = []) {
        self.to = to
        self.value = value
        self.input = input
    }

    var rlp: RLPItem { .list([.bytes(to?.bytes ?? []), .uint(value), .bytes(input)]) }

    init(rlp item: RLPItem) throws(EVMError) {
        let fields = try item.listValue()
        guard fields.count == 3 else { throw EVMError(.invalidTransaction, "a Tempo call has 3 fields, got \(fields.count)") }
        let toBytes = try fields[0].bytesValue()
        guard toBytes.isEmpty || toBytes.count == 20 else { throw EVMError(.invalidTransaction, "a call's `to` must be empty or 20 bytes") }
        self.init(
            to: toBytes.isEmpty ? nil : try Address(bytes: toBytes), value: try fields[1].uint256Value(), input: try fields[2].bytesValue())
    }
}
