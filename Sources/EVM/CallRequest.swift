/// The transaction object of `eth_call` and `eth_estimateGas`.
public struct CallRequest: Sendable, Hashable {
    public var from: Address?
    public var to: Address?
    public var gas: UInt64?
    public var gasPrice: UInt256?
    public var maxFeePerGas: UInt256?
    public var maxPriorityFeePerGas: UInt256?
    public var value: UInt256?
    public var data: [UInt8]

    public init(
        from: Address? = nil, to: Address?, data: [UInt8] = [], value: UInt256? = nil, gas: UInt64? = nil, gasPrice: UInt256? = nil,
        maxFeePerGas: UInt256? = nil, maxPriorityFeePerGas: UInt256? = nil
    ) {
        self.from = from
        self.to = to
        self.data = data
        self.value = value
        self.gas = gas
        self.gasPrice = gasPrice
        self.maxFeePerGas = maxFeePerGas
        self.maxPriorityFeePerGas = maxPriorityFeePerGas
    }

    var rpcValue: RPCValue {
        var object: [String: RPCValue] = [:]
        if let from { object["from"] = .string(from.lowercased) }
        if let to { object["to"] = .string(to.lowercased) }
        if let gas { object["gas"] = .quantity(gas) }
        if let gasPrice { object["gasPrice"] = .quantity(gasPrice) }
        if let maxFeePerGas { object["maxFeePerGas"] = .quantity(maxFeePerGas) }
        if let maxPriorityFeePerGas { object["maxPriorityFeePerGas"] = .quantity(maxPriorityFeePerGas) }
        if let value { object["value"] = .quantity(value) }
        // `input` is the current name, `data` the one older nodes read; geth accepts both if equal.
        object["input"] = .data(data)
        object["data"] = .data(data)
        return .object(object)
    }
}
