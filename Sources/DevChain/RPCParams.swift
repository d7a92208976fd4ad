import EVM

/// The positional parameters of one JSON-RPC call, with typed accessors that fail with
/// `-32602 invalid params`.
struct RPCParams: Sendable {
    let values: [RPCValue]

    init(_ raw: RPCValue?) throws(JSONRPCError) {
        switch raw {
        case .none, .null: values = []
        case .array(let values): self.values = values
        default: throw JSONRPCError.invalidParams("params must be an array")
        }
    }

    var count: Int { values.count }

    /// The parameter, or nil when absent or null.
    subscript(_ index: Int) -> RPCValue? {
        guard index < values.count else { return nil }
        if case .null = values[index] { return nil }
        return values[index]
    }

    func required(_ index: Int, _ name: String) throws(JSONRPCError) -> RPCValue {
        guard let value = self[index] else { throw JSONRPCError.invalidParams("missing value for required argument \(index) (\(name))") }
        return value
    }

    func address(_ index: Int, _ name: String = "address") throws(JSONRPCError) -> Address {
        try Self.address(required(index, name), name)
    }

    func hash(_ index: Int, _ name: String = "hash") throws(JSONRPCError) -> Hash32 {
        try Self.hash(required(index, name), name)
    }

    func quantity(_ index: Int, _ name: String) throws(JSONRPCError) -> UInt256 {
        try Self.quantity(required(index, name), name)
    }

    func uint64(_ index: Int, _ name: String) throws(JSONRPCError) -> UInt64 {
        try Self.uint64(required(index, name), name)
    }

    func data(_ index: Int, _ name: String) throws(JSONRPCError) -> [UInt8] {
        try Self.data(required(index, name), name)
    }

    func bool(_ index: Int, _ name: String, default value: Bool) throws(JSONRPCError) -> Bool {
        guard let raw = self[index] else { return value }
        guard case .bool(let flag) = raw else { throw JSONRPCError.invalidParams("\(name) must be a boolean") }
        return flag
    }

    /// A block parameter: a tag, a hex number, or an EIP-1898 object (`blockNumber` or `blockHash`).
    func block(_ index: Int, default value: BlockSelector = .tag(.latest)) throws(JSONRPCError) -> BlockSelector {
        guard let raw = self[index] else { return value }
        return try Self.block(raw)
    }

    // MARK: Conversions

    static func address(_ value: RPCValue, _ name: String) throws(JSONRPCError) -> Address {
        guard case .string(let text) = value, let address = try? Address(text) else {
            throw JSONRPCError.invalidParams("\(name) must be a 20-byte hex address")
        }
        return address
    }

    static func hash(_ value: RPCValue, _ name: String) throws(JSONRPCError) -> Hash32 {
        guard case .string(let text) = value, let hash = try? Hash32(hex: text) else {
            throw JSONRPCError.invalidParams("\(name) must be a 32-byte hex value")
        }
        return hash
    }

    /// A quantity: `0x` hex (geth rejects leading zeros; accepted here) or a non-negative integer number.
    static func quantity(_ value: RPCValue, _ name: String) throws(JSONRPCError) -> UInt256 {
        switch value {
        case .string(let text) where text.hasPrefix("0x") || text.hasPrefix("0X"):
            if let number = try? UInt256(hex: text) { return number }
        case .number(let number) where number >= 0 && number == number.rounded(.towardZero) && number < 9_007_199_254_740_992:
            return UInt256(UInt64(number))
        default:
            break
        }
        throw JSONRPCError.invalidParams("\(name) must be a hex quantity")
    }

    static func uint64(_ value: RPCValue, _ name: String) throws(JSONRPCError) -> UInt64 {
        guard let small = try quantity(value, name).uint64 else { throw JSONRPCError.invalidParams("\(name) exceeds 64 bits") }
        return small
    }

    static func data(_ value: RPCValue, _ name: String) throws(JSONRPCError) -> [UInt8] {
        guard case .string(let text) = value, text.hasPrefix("0x") || text.hasPrefix("0X"), let bytes = try? Hex.decode(text) else {
            throw JSONRPCError.invalidParams("\(name) must be 0x-prefixed hex data")
        }
        return bytes
    }

    static func block(_ value: RPCValue) throws(JSONRPCError) -> BlockSelector {
        switch value {
        case .string("latest"): return .tag(.latest)
        case .string("pending"): return .tag(.pending)
        case .string("earliest"): return .tag(.earliest)
        case .string("safe"): return .tag(.safe)
        case .string("finalized"): return .tag(.finalized)
        case .object(let object):
            if let hash = object["blockHash"] { return .hash(try Self.hash(hash, "blockHash")) }
            if let number = object["blockNumber"] { return try block(number) }
            throw JSONRPCError.invalidParams("a block object needs blockHash or blockNumber")
        default:
            return .tag(.number(try uint64(value, "block number")))
        }
    }

    /// The transaction object of `eth_call` and `eth_estimateGas`.
    struct CallObject {
        var from: Address?
        var to: Address?
        var gas: UInt64?
        var value: UInt256
        var data: [UInt8]
    }

    func callObject(_ index: Int) throws(JSONRPCError) -> CallObject {
        guard case .object(let object) = try required(index, "transaction") else {
            throw JSONRPCError.invalidParams("the transaction argument must be an object")
        }
        func field(_ key: String) -> RPCValue? {
            if case .null = object[key] { return nil }
            return object[key]
        }
        let input = try field("input").map { v throws(JSONRPCError) in try Self.data(v, "input") }
        let data = try field("data").map { v throws(JSONRPCError) in try Self.data(v, "data") }
        if let input, let data, input != data {
            throw JSONRPCError.invalidParams("both \"data\" and \"input\" are set and not equal")
        }
        return CallObject(
            from: try field("from").map { v throws(JSONRPCError) in try Self.address(v, "from") },
            to: try field("to").map { v throws(JSONRPCError) in try Self.address(v, "to") },
            gas: try field("gas").map { v throws(JSONRPCError) in try Self.uint64(v, "gas") },
            value: try field("value").map { v throws(JSONRPCError) in try Self.quantity(v, "value") } ?? .zero,
            data: input ?? data ?? [])
    }
}

/// A block parameter before resolution: a tag/number or a hash.
enum BlockSelector: Sendable, Hashable {
    case tag(BlockTag)
    case hash(Hash32)
}
