/// An RLP item: a byte string or a list of items.
public enum RLPItem: Sendable, Hashable {
    case bytes([UInt8])
    case list([RLPItem])

    /// An unsigned integer: big-endian without leading zeros (zero is the empty string).
    public static func uint(_ value: UInt256) -> RLPItem { .bytes(value.minimalBigEndianBytes) }

    /// A string's UTF-8 bytes.
    public static func string(_ value: String) -> RLPItem { .bytes(Array(value.utf8)) }

    /// An address's 20 bytes.
    public static func address(_ value: Address) -> RLPItem { .bytes(value.bytes) }

    /// The byte string, or ``EVMError/Code/invalidRLP`` for a list.
    public func bytesValue() throws(EVMError) -> [UInt8] {
        guard case .bytes(let bytes) = self else { throw EVMError(.invalidRLP, "expected a byte string, found a list") }
        return bytes
    }

    /// The items, or ``EVMError/Code/invalidRLP`` for a byte string.
    public func listValue() throws(EVMError) -> [RLPItem] {
        guard case .list(let items) = self else { throw EVMError(.invalidRLP, "expected a list, found a byte string") }
        return items
    }

    /// The byte string read as a canonical integer (no leading zero byte, at most 32 bytes).
    public func uint256Value() throws(EVMError) -> UInt256 {
        let bytes = try bytesValue()
        guard bytes.first != 0 else { throw EVMError(.invalidRLP, "integer with a leading zero byte") }
        guard bytes.count <= 32 else { throw EVMError(.invalidRLP, "integer longer than 32 bytes") }
        return try UInt256(bigEndian: bytes)
    }

    /// The byte string read as a canonical integer that fits in 64 bits.
    public func uint64Value() throws(EVMError) -> UInt64 {
        guard let value = try uint256Value().uint64 else { throw EVMError(.invalidRLP, "integer does not fit in 64 bits") }
        return value
    }

    /// The byte string read as a 20-byte address.
    public func addressValue() throws(EVMError) -> Address {
        let bytes = try bytesValue()
        guard bytes.count == 20 else { throw EVMError(.invalidRLP, "an address has 20 bytes, got \(bytes.count)") }
        return try Address(bytes: bytes)
    }
}

/// Recursive Length Prefix encoding (Ethereum Yellow Paper, appendix B).
public enum RLP {
    /// Encodes an item.
    public static func encode(_ item: RLPItem) -> [UInt8] {
        var out: [UInt8] = []
        encode(item, into: &out)
        return out
    }

    /// Appends the encoding of an item.
    public static func encode(_ item: RLPItem, into out: inout [UInt8]) {
        switch item {
        case .bytes(let bytes):
            if bytes.count == 1 && bytes[0] < 0x80 {
                out.append(bytes[0])
            } else {
                appendLength(bytes.count, offset: 0x80, into: &out)
                out.append(contentsOf: bytes)
            }
        case .list(let items):
            var payload: [UInt8] = []
            for item in items { encode(item, into: &payload) }
            appendLength(payload.count, offset: 0xc0, into: &out)
            out.append(contentsOf: payload)
        }
    }

    private static func appendLength(_ length: Int, offset: UInt8, into out: inout [UInt8]) {
        if length < 56 {
            out.append(offset + UInt8(length))
        } else {
            let lengthBytes = UInt256(UInt64(length)).minimalBigEndianBytes
            out.append(offset + 55 + UInt8(lengthBytes.count))
            out.append(contentsOf: lengthBytes)
        }
    }

    /// Decodes exactly one item that spans all of `bytes`.
    ///
    /// Only canonical encodings are accepted (a single byte below 0x80 is never prefixed, lengths have
    /// no leading zeros and use the long form only from 56 bytes on), so an encoding round-trips
    /// byte for byte: transaction hashes depend on it.
    ///
    /// - Throws: ``EVMError/Code/invalidRLP``.
    public static func decode(_ bytes: some Collection<UInt8>) throws(EVMError) -> RLPItem {
        let input = Array(bytes)
        var position = 0
        let item = try decodeItem(input, &position, end: input.count, depth: 0)
        guard position == input.count else { throw EVMError(.invalidRLP, "\(input.count - position) trailing bytes after the item") }
        return item
    }

    // Deep enough for any Ethereum structure, shallow enough that hostile input cannot exhaust the stack.
    private static let maximumDepth = 64

    private static func decodeItem(_ input: [UInt8], _ position: inout Int, end: Int, depth: Int) throws(EVMError) -> RLPItem {
        guard depth <= maximumDepth else { throw EVMError(.invalidRLP, "lists nested deeper than \(maximumDepth)") }
        guard position < end else { throw EVMError(.invalidRLP, "unexpected end of input") }
        let prefix = input[position]
        position += 1
        switch prefix {
        case 0x00...0x7f:
            return .bytes([prefix])
        case 0x80...0xbf:
            let length = try readLength(prefix, base: 0x80, input, &position, end: end)
            let bytes = Array(input[position..<position + length])
            position += length
            if length == 1 && bytes[0] < 0x80 {
                throw EVMError(.invalidRLP, "a single byte below 0x80 must encode as itself")
            }
            return .bytes(bytes)
        default:
            let length = try readLength(prefix, base: 0xc0, input, &position, end: end)
            let listEnd = position + length
            var items: [RLPItem] = []
            while position < listEnd {
                items.append(try decodeItem(input, &position, end: listEnd, depth: depth + 1))
            }
            return .list(items)
        }
    }

    // Reads the length that follows a prefix byte and checks that the payload fits before `end`.
    private static func readLength(_ prefix: UInt8, base: UInt8, _ input: [UInt8], _ position: inout Int, end: Int) throws(EVMError) -> Int
    {
        let length: Int
        if prefix - base <= 55 {
            length = Int(prefix - base)
        } else {
            let count = Int(prefix - base - 55)
            guard position + count <= end else { throw EVMError(.invalidRLP, "length runs past the end of input") }
            guard input[position] != 0 else { throw EVMError(.invalidRLP, "length with a leading zero byte") }
            guard count <= 4 else { throw EVMError(.invalidRLP, "length of \(count) bytes is beyond any real payload") }
            var value = 0
            for byte in input[position..<position + count] { value = value << 8 | Int(byte) }
            position += count
            guard value >= 56 else { throw EVMError(.invalidRLP, "long-form length \(value) below 56 must use the short form") }
            length = value
        }
        guard length <= end - position else { throw EVMError(.invalidRLP, "payload of \(length) bytes runs past the end of input") }
        return length
    }
}
