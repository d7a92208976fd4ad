/// Thirty-two bytes: a Keccak-256 digest, an ABI `bytes32`, an EIP-3009 nonce, a signature's `r` or `s`.
///
/// Stored inline (no heap allocation) because digests are made and compared on the hot path of
/// signature checks.
public struct Hash32: Sendable, Hashable, Codable, CustomStringConvertible {
    // Four words whose in-memory representation is the 32 bytes in order (so `withUnsafeBytes(of:)`
    // hands the bytes to C as they are, whatever the host's endianness).
    var storage: (UInt64, UInt64, UInt64, UInt64)

    /// All zero bytes.
    public static let zero = Hash32(storage: (0, 0, 0, 0))

    init(storage: (UInt64, UInt64, UInt64, UInt64)) { self.storage = storage }

    /// Loads 32 bytes from `raw`, which must hold at least 32 bytes.
    init(loading raw: UnsafeRawBufferPointer) {
        precondition(raw.count >= 32)
        storage = (
            raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
    }

    /// Wraps exactly 32 bytes.
    ///
    /// - Throws: ``EVMError/Code/invalidLength`` unless `bytes` holds 32 bytes.
    public init(bytes: some Collection<UInt8>) throws(EVMError) {
        guard bytes.count == 32 else { throw EVMError(.invalidLength, "expected 32 bytes, got \(bytes.count)") }
        var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &storage) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        self.storage = storage
    }

    /// Parses 64 hex digits, with or without `0x`.
    ///
    /// - Throws: ``EVMError/Code/invalidHex`` or ``EVMError/Code/invalidLength``.
    public init(hex: some StringProtocol) throws(EVMError) {
        try self.init(bytes: Hex.decode(String(hex), count: 32))
    }

    /// The 32 bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Calls `body` with the 32 bytes, without copying them to the heap.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var copy = storage
        return try Swift.withUnsafeBytes(of: &copy) { raw throws(E) in try body(raw) }
    }

    /// The bytes as `0x`-prefixed lowercase hex.
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    /// The bytes read as a big-endian unsigned integer (how the EVM reads a 32-byte word).
    public var uint256: UInt256 {
        UInt256(
            limbs: (UInt64(bigEndian: storage.3), UInt64(bigEndian: storage.2), UInt64(bigEndian: storage.1), UInt64(bigEndian: storage.0)))
    }

    public static func == (lhs: Hash32, rhs: Hash32) -> Bool {
        lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1 && lhs.storage.2 == rhs.storage.2 && lhs.storage.3 == rhs.storage.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
        hasher.combine(storage.3)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(hex: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
