/// A 20-byte Ethereum account address.
///
/// Printed with the EIP-55 mixed-case checksum. Parsing accepts all-lowercase and all-uppercase hex
/// (no checksum to check) and mixed case only when the checksum is right, so a mistyped address is
/// caught rather than silently paid.
public struct Address: Sendable, Hashable, Codable, CustomStringConvertible {
    // Words whose in-memory representation is the 20 bytes in order; the tuple's size is exactly 20.
    var storage: (UInt64, UInt64, UInt32)

    /// The zero address.
    public static let zero = Address(storage: (0, 0, 0))

    init(storage: (UInt64, UInt64, UInt32)) { self.storage = storage }

    /// Loads 20 bytes from `raw`, which must hold at least 20 bytes.
    init(loading raw: UnsafeRawBufferPointer) {
        precondition(raw.count >= 20)
        storage = (
            raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
        )
    }

    /// The address of a Keccak-256 digest of a public key (or of a CREATE preimage): its last 20 bytes.
    init(lastBytesOf hash: Hash32) {
        self = hash.withUnsafeBytes { Address(loading: UnsafeRawBufferPointer(rebasing: $0[12...])) }
    }

    /// Wraps exactly 20 bytes.
    ///
    /// - Throws: ``EVMError/Code/invalidLength`` unless `bytes` holds 20 bytes.
    public init(bytes: some Collection<UInt8>) throws(EVMError) {
        guard bytes.count == 20 else { throw EVMError(.invalidLength, "an address has 20 bytes, got \(bytes.count)") }
        var storage: (UInt64, UInt64, UInt32) = (0, 0, 0)
        withUnsafeMutableBytes(of: &storage) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        self.storage = storage
    }

    /// Parses 40 hex digits with or without `0x`, checking the EIP-55 checksum when the case is mixed.
    ///
    /// - Throws: ``EVMError/Code/invalidHex``, ``EVMError/Code/invalidLength`` or
    ///   ``EVMError/Code/invalidChecksum``.
    public init(_ string: some StringProtocol) throws(EVMError) {
        try self.init(String(string))
    }

    /// Parses 40 hex digits with or without `0x`, checking the EIP-55 checksum when the case is mixed.
    ///
    /// The concrete overload: every address of a paid request is parsed, and the generic one ran
    /// unspecialized across modules.
    /// - Throws: ``EVMError/Code/invalidHex``, ``EVMError/Code/invalidLength`` or
    ///   ``EVMError/Code/invalidChecksum``.
    public init(_ string: String) throws(EVMError) {
        try self.init(bytes: Hex.decode(string, count: 20))
        let digits = string.utf8.suffix(40)
        var hasLower = false
        var hasUpper = false
        for digit in digits {
            if digit >= UInt8(ascii: "a") {
                hasLower = true
            } else if digit >= UInt8(ascii: "A") {
                hasUpper = true
            }
        }
        if hasLower && hasUpper {
            guard digits.elementsEqual(checksumDigits) else {
                throw EVMError(.invalidChecksum, "mixed-case address \(string) does not match its EIP-55 checksum (\(checksummed))")
            }
        }
    }

    /// The 20 bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Calls `body` with the 20 bytes, without copying them to the heap.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var copy = storage
        return try Swift.withUnsafeBytes(of: &copy) { raw throws(E) in
            try body(UnsafeRawBufferPointer(rebasing: raw[0..<20]))
        }
    }

    /// `0x` and 40 lowercase hex digits.
    public var lowercased: String { Hex.encode(bytes) }

    /// `0x` and 40 hex digits in EIP-55 mixed case: a letter is uppercase when the matching nibble
    /// of keccak256(lowercase hex digits) is 8 or more.
    public var checksummed: String { "0x" + String(decoding: checksumDigits, as: UTF8.self) }

    /// The 40 digits of ``checksummed``, as ASCII.
    var checksumDigits: [UInt8] {
        var ascii = Array(Hex.encode(bytes, prefix: false).utf8)
        let hash = Keccak256.hash(ascii).bytes
        for index in ascii.indices where ascii[index] >= UInt8(ascii: "a") {
            let nibble = index % 2 == 0 ? hash[index / 2] >> 4 : hash[index / 2] & 0x0f
            if nibble >= 8 { ascii[index] -= 32 }
        }
        return ascii
    }

    public var description: String { checksummed }

    /// The address as an ABI word (left-padded with zeros), as in event topics.
    public var word: Hash32 {
        var raw: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &raw) { out in
            withUnsafeBytes { out.baseAddress!.advanced(by: 12).copyMemory(from: $0.baseAddress!, byteCount: 20) }
        }
        return Hash32(storage: raw)
    }

    public static func == (lhs: Address, rhs: Address) -> Bool {
        lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1 && lhs.storage.2 == rhs.storage.2
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(checksummed)
    }
}
