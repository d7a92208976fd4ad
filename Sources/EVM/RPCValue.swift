/// A JSON value, for JSON-RPC parameters and for the free-form `data` of error objects.
public enum RPCValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([RPCValue])
    case object([String: RPCValue])

    /// A JSON-RPC quantity: `0x`-prefixed hex without leading zeros.
    public static func quantity(_ value: UInt256) -> RPCValue { .string(value.hexQuantity) }
    /// A JSON-RPC quantity: `0x`-prefixed hex without leading zeros.
    public static func quantity(_ value: UInt64) -> RPCValue { .string(UInt256(value).hexQuantity) }
    /// JSON-RPC data: `0x`-prefixed hex, two digits per byte.
    public static func data(_ bytes: some Sequence<UInt8>) -> RPCValue { .string(Hex.encode(bytes)) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([RPCValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: RPCValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// A JSON-RPC quantity in a response (`0x` and hex digits).
struct Quantity: Decodable {
    var value: UInt256

    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard text.hasPrefix("0x") || text.hasPrefix("0X") else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "quantity without 0x: \(text.prefix(80))"))
        }
        do {
            value = try UInt256(hex: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    func uint64(at codingPath: [any CodingKey]) throws -> UInt64 {
        guard let small = value.uint64 else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "quantity \(value) exceeds 64 bits"))
        }
        return small
    }
}

/// JSON-RPC data in a response (`0x` and an even number of hex digits).
struct HexData: Decodable {
    var bytes: [UInt8]

    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            bytes = try Hex.decode(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }
}
