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
        let headSize = 32 * values.count
        for value in values {
            switch value {
            case .address(let address): head += address.word.bytes
            case .uint(let integer): head += integer.bigEndianBytes
            case .bool(let flag): head += UInt256(flag ? 1 : 0).bigEndianBytes
            case .fixedBytes(let bytes):
                precondition((1...32).contains(bytes.count), "bytesN holds 1 to 32 bytes")
                head += bytes + [UInt8](repeating: 0, count: 32 - bytes.count)
            case .bytes(let bytes):
                head += UInt256(UInt64(headSize + tail.count)).bigEndianBytes
                appendDynamic(bytes, to: &tail)
            case .string(let string):
                head += UInt256(UInt64(headSize + tail.count)).bigEndianBytes
                appendDynamic(Array(string.utf8), to: &tail)
            }
        }
        return head + tail
    }

    private static func appendDynamic(_ bytes: [UInt8], to tail: inout [UInt8]) {
        tail += UInt256(UInt64(bytes.count)).bigEndianBytes
        tail += bytes
        tail += [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32)
    }

    /// Decodes values of the given types.
    ///
    /// Strict like Solidity's ABI coder v2: dirty high bits of `address`, `uintN` or `bool`, non-zero
    /// padding of `bytesN`, offsets or lengths out of bounds and invalid UTF-8 are all rejected.
    ///
    /// - Throws: ``EVMError/Code/invalidABI``.
    public static func decode(_ types: [ABIType], from data: some Collection<UInt8>) throws(EVMError) -> [ABIValue] {
        let data = Array(data)
        guard data.count >= 32 * types.count else {
            throw EVMError(.invalidABI, "\(data.count) bytes cannot hold \(types.count) head words")
        }
        var values: [ABIValue] = []
        values.reserveCapacity(types.count)
        for (index, type) in types.enumerated() {
            let head = word(data, at: 32 * index)
            switch type {
            case .address:
                guard head.prefix(12).allSatisfy({ $0 == 0 }) else { throw EVMError(.invalidABI, "address with dirty high bytes") }
                values.append(.address(try Address(bytes: head.suffix(20))))
            case .uint(let bits):
                let zeroBytes = 32 - bits / 8
                guard head.prefix(zeroBytes).allSatisfy({ $0 == 0 }) else { throw EVMError(.invalidABI, "uint\(bits) value out of range") }
                values.append(.uint(try UInt256(bigEndian: head)))
            case .bool:
                guard head.prefix(31).allSatisfy({ $0 == 0 }), head[31] <= 1 else {
                    throw EVMError(.invalidABI, "bool that is neither 0 nor 1")
                }
                values.append(.bool(head[31] == 1))
            case .fixedBytes(let count):
                guard head.suffix(32 - count).allSatisfy({ $0 == 0 }) else {
                    throw EVMError(.invalidABI, "bytes\(count) with dirty padding")
                }
                values.append(.fixedBytes(Array(head.prefix(count))))
            case .bytes:
                values.append(.bytes(try dynamic(data, offsetWord: head)))
            case .string:
                let bytes = try dynamic(data, offsetWord: head)
                guard let string = String(validating: bytes, as: UTF8.self) else {
                    throw EVMError(.invalidABI, "string is not valid UTF-8")
                }
                values.append(.string(string))
            }
        }
        return values
    }

    private static func word(_ data: [UInt8], at offset: Int) -> [UInt8] { Array(data[offset..<offset + 32]) }

    // Reads the length-prefixed bytes an offset word points at, checking every bound.
    private static func dynamic(_ data: [UInt8], offsetWord: [UInt8]) throws(EVMError) -> [UInt8] {
        guard let offset64 = try? UInt256(bigEndian: offsetWord).uint64, offset64 <= UInt64(data.count), data.count - Int(offset64) >= 32
        else {
            throw EVMError(.invalidABI, "offset of a dynamic value points outside the data")
        }
        let offset = Int(offset64)
        guard let length64 = try? UInt256(bigEndian: word(data, at: offset)).uint64, length64 <= UInt64(data.count - offset - 32) else {
            throw EVMError(.invalidABI, "length of a dynamic value runs past the data")
        }
        let start = offset + 32
        return Array(data[start..<start + Int(length64)])
    }
}
