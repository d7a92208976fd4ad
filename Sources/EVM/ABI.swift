/// Solidity ABI encoding and decoding of a flat list of values (a function's arguments, an event's
/// data, revert data), plus selectors and event topics.
public enum ABI {
    /// The 4-byte selector of a function signature such as `transfer(address,uint256)`.
    public static func selector(_ signature: String) -> [UInt8] { Array(Keccak256.hash(signature).bytes.prefix(4)) }

    /// The topic 0 of an event signature such as `Transfer(address,address,uint256)`.
    public static func eventTopic(_ signature: String) -> Hash32 { Keccak256.hash(signature) }

    /// The calldata of a call: selector then the encoded arguments.
    public static func encodeCall(_ signature: String, _ arguments: [ABIValue]) -> [UInt8] {
        selector(signature) + encode(arguments)
    }

    /// Encodes values as a tuple: static values in the head, dynamic ones in the tail behind offsets.
    public static func encode(_ values: [ABIValue]) -> [UInt8] {
        var head: [UInt8] = []
        var tail: [UInt8] = []
        let headLength = values.reduce(0) { $0 + headSize(of: $1) }
        for value in values {
            if value.isDynamic {
                head += UInt256(UInt64(headLength + tail.count)).bigEndianBytes
                tail += encodeInPlace(value)
            } else {
                head += encodeInPlace(value)
            }
        }
        return head + tail
    }

    /// The bytes a value occupies in its enclosing head: a word (an offset for dynamic values), or
    /// all the words of a static tuple, which is inlined.
    private static func headSize(of value: ABIValue) -> Int {
        if !value.isDynamic, case .tuple(let members) = value { return members.reduce(0) { $0 + headSize(of: $1) } }
        return 32
    }

    /// A value's own encoding: a static one's words, or a dynamic one's tail part.
    private static func encodeInPlace(_ value: ABIValue) -> [UInt8] {
        switch value {
        case .address(let address): return address.word.bytes
        case .uint(let integer): return integer.bigEndianBytes
        case .bool(let flag): return UInt256(flag ? 1 : 0).bigEndianBytes
        case .fixedBytes(let bytes):
            precondition((1...32).contains(bytes.count), "bytesN holds 1 to 32 bytes")
            return bytes + [UInt8](repeating: 0, count: 32 - bytes.count)
        case .bytes(let bytes): return lengthPrefixed(bytes)
        case .string(let string): return lengthPrefixed(Array(string.utf8))
        case .tuple(let members): return encode(members)
        case .array(let elements): return UInt256(UInt64(elements.count)).bigEndianBytes + encode(elements)
        }
    }

    private static func lengthPrefixed(_ bytes: [UInt8]) -> [UInt8] {
        UInt256(UInt64(bytes.count)).bigEndianBytes + bytes + [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32)
    }

    /// Decodes values of the given types.
    ///
    /// Strict like Solidity's ABI coder v2: dirty high bits of `address`, `uintN` or `bool`, non-zero
    /// padding of `bytesN`, offsets or lengths out of bounds and invalid UTF-8 are all rejected.
    ///
    /// - Throws: ``EVMError/Code/invalidABI``.
    public static func decode(_ types: [ABIType], from data: some Collection<UInt8>) throws(EVMError) -> [ABIValue] {
        try decodeSequence(types, in: Array(data), base: 0)
    }

    /// Decodes a tuple whose encoding starts at `base`; offsets of dynamic members are relative to it.
    private static func decodeSequence(_ types: [ABIType], in data: [UInt8], base: Int) throws(EVMError) -> [ABIValue] {
        var values: [ABIValue] = []
        values.reserveCapacity(types.count)
        var cursor = base
        for type in types {
            if type.isDynamic {
                let offset = try offset(in: data, at: cursor, base: base)
                values.append(try decodeInPlace(type, in: data, at: offset))
                cursor += 32
            } else {
                values.append(try decodeInPlace(type, in: data, at: cursor))
                cursor += staticSize(of: type)
            }
        }
        return values
    }

    private static func staticSize(of type: ABIType) -> Int {
        if case .tuple(let members) = type { return members.reduce(0) { $0 + staticSize(of: $1) } }
        return 32
    }

    /// Reads the offset word at `position` and returns the absolute position it points at.
    private static func offset(in data: [UInt8], at position: Int, base: Int) throws(EVMError) -> Int {
        let head = try word(data, at: position)
        guard let relative = try? UInt256(bigEndian: head).uint64, relative <= UInt64(data.count - base) else {
            throw EVMError(.invalidABI, "offset of a dynamic value points outside the data")
        }
        return base + Int(relative)
    }

    private static func decodeInPlace(_ type: ABIType, in data: [UInt8], at position: Int) throws(EVMError) -> ABIValue {
        switch type {
        case .address:
            let head = try word(data, at: position)
            guard head.prefix(12).allSatisfy({ $0 == 0 }) else { throw EVMError(.invalidABI, "address with dirty high bytes") }
            return .address(try Address(bytes: head.suffix(20)))
        case .uint(let bits):
            let head = try word(data, at: position)
            let zeroBytes = 32 - bits / 8
            guard head.prefix(zeroBytes).allSatisfy({ $0 == 0 }) else { throw EVMError(.invalidABI, "uint\(bits) value out of range") }
            return .uint(try UInt256(bigEndian: head))
        case .bool:
            let head = try word(data, at: position)
            guard head.prefix(31).allSatisfy({ $0 == 0 }), head[31] <= 1 else {
                throw EVMError(.invalidABI, "bool that is neither 0 nor 1")
            }
            return .bool(head[31] == 1)
        case .fixedBytes(let count):
            let head = try word(data, at: position)
            guard head.suffix(32 - count).allSatisfy({ $0 == 0 }) else {
                throw EVMError(.invalidABI, "bytes\(count) with dirty padding")
            }
            return .fixedBytes(Array(head.prefix(count)))
        case .bytes:
            return .bytes(try lengthPrefixed(data, at: position))
        case .string:
            let bytes = try lengthPrefixed(data, at: position)
            guard let string = String(validating: bytes, as: UTF8.self) else {
                throw EVMError(.invalidABI, "string is not valid UTF-8")
            }
            return .string(string)
        case .tuple(let members):
            return .tuple(try decodeSequence(members, in: data, base: position))
        case .array(let element):
            let count = try length(data, at: position)
            // Each element takes at least a word: a count beyond the data is malformed, not a huge allocation.
            guard count <= (data.count - position - 32) / 32 else {
                throw EVMError(.invalidABI, "array length runs past the data")
            }
            return .array(try decodeSequence(Array(repeating: element, count: count), in: data, base: position + 32))
        }
    }

    private static func word(_ data: [UInt8], at offset: Int) throws(EVMError) -> [UInt8] {
        guard offset >= 0, data.count - offset >= 32 else {
            throw EVMError(.invalidABI, "\(data.count) bytes end before a word at \(offset)")
        }
        return Array(data[offset..<offset + 32])
    }

    private static func length(_ data: [UInt8], at position: Int) throws(EVMError) -> Int {
        guard let length = try? UInt256(bigEndian: word(data, at: position)).uint64, length <= UInt64(data.count) else {
            throw EVMError(.invalidABI, "length of a dynamic value runs past the data")
        }
        return Int(length)
    }

    // The length-prefixed bytes at `position`, checking every bound.
    private static func lengthPrefixed(_ data: [UInt8], at position: Int) throws(EVMError) -> [UInt8] {
        let count = try length(data, at: position)
        guard count <= data.count - position - 32 else { throw EVMError(.invalidABI, "length of a dynamic value runs past the data") }
        let start = position + 32
        return Array(data[start..<start + count])
    }
}
