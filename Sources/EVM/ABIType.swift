/// The Solidity ABI types the toolkit encodes and decodes.
public enum ABIType: Sendable, Hashable, CustomStringConvertible {
    /// `address`: 20 bytes, left-padded.
    case address
    /// `uintN`, N a multiple of 8 in 8...256.
    case uint(bits: Int)
    /// `bool`.
    case bool
    /// `bytesN`, N in 1...32: right-padded.
    case fixedBytes(Int)
    /// `bytes`: dynamic.
    case bytes
    /// `string`: dynamic, UTF-8.
    case string
    /// `(T1,T2,…)`: a struct; dynamic when one of its members is.
    indirect case tuple([ABIType])
    /// `T[]`: a dynamic-length array.
    indirect case array(ABIType)

    /// `uint256`.
    public static let uint256 = ABIType.uint(bits: 256)
    /// `uint8`.
    public static let uint8 = ABIType.uint(bits: 8)
    /// `bytes32`.
    public static let bytes32 = ABIType.fixedBytes(32)

    /// Whether the value lives in the tail (behind an offset) rather than in its head word.
    public var isDynamic: Bool {
        switch self {
        case .bytes, .string, .array: true
        case .tuple(let members): members.contains { $0.isDynamic }
        default: false
        }
    }

    /// The canonical name used in signatures, e.g. `uint256`.
    public var description: String {
        switch self {
        case .address: "address"
        case .uint(let bits): "uint\(bits)"
        case .bool: "bool"
        case .fixedBytes(let count): "bytes\(count)"
        case .bytes: "bytes"
        case .string: "string"
        case .tuple(let members): "(" + members.map(\.description).joined(separator: ",") + ")"
        case .array(let element): element.description + "[]"
        }
    }
}

/// A value of an ``ABIType``.
public enum ABIValue: Sendable, Hashable {
    case address(Address)
    /// Any `uintN`; encoding does not check that it fits N bits (decoding does).
    case uint(UInt256)
    case bool(Bool)
    /// `bytesN`: 1...32 bytes.
    case fixedBytes([UInt8])
    case bytes([UInt8])
    case string(String)
    /// A struct's members, in order.
    indirect case tuple([ABIValue])
    /// An array's elements.
    indirect case array([ABIValue])

    /// A `bytes32` value.
    public static func bytes32(_ value: Hash32) -> ABIValue { .fixedBytes(value.bytes) }

    /// The address, if this is one.
    public var address: Address? { if case .address(let v) = self { v } else { nil } }
    /// The integer, if this is one.
    public var uint: UInt256? { if case .uint(let v) = self { v } else { nil } }
    /// The boolean, if this is one.
    public var bool: Bool? { if case .bool(let v) = self { v } else { nil } }
    /// The bytes of a `bytesN` or `bytes` value.
    public var bytes: [UInt8]? {
        switch self {
        case .fixedBytes(let v), .bytes(let v): v
        default: nil
        }
    }
    /// A `bytes32` value as a ``Hash32``.
    public var bytes32: Hash32? { if case .fixedBytes(let v) = self, v.count == 32 { try? Hash32(bytes: v) } else { nil } }
    /// The string, if this is one.
    public var string: String? { if case .string(let v) = self { v } else { nil } }
    /// The members of a tuple or the elements of an array.
    public var elements: [ABIValue]? {
        switch self {
        case .tuple(let v), .array(let v): v
        default: nil
        }
    }

    /// Whether the encoding lives in the tail (behind an offset).
    var isDynamic: Bool {
        switch self {
        case .bytes, .string, .array: true
        case .tuple(let members): members.contains { $0.isDynamic }
        default: false
        }
    }
}
