/// Hexadecimal encoding as Ethereum writes it: lowercase, `0x`-prefixed, two digits per byte.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Encodes bytes as lowercase hex, with the `0x` prefix unless `prefix` is false.
    public static func encode(_ bytes: [UInt8], prefix: Bool = true) -> String {
        // The concrete overload: called across modules, the generic one below runs unspecialized,
        // through witness tables per byte, and hashes, addresses and signatures are hex-encoded on
        // every paid request.
        let count = bytes.count * 2 + (prefix ? 2 : 0)
        return String(unsafeUninitializedCapacity: count) { out in
            var k = 0
            if prefix {
                out[0] = UInt8(ascii: "0")
                out[1] = UInt8(ascii: "x")
                k = 2
            }
            digits.withUnsafeBufferPointer { digits in
                for byte in bytes {
                    out[k] = digits[Int(byte >> 4)]
                    out[k + 1] = digits[Int(byte & 0x0f)]
                    k += 2
                }
            }
            return count
        }
    }

    /// Encodes bytes as lowercase hex, with the `0x` prefix unless `prefix` is false.
    public static func encode(_ bytes: some Sequence<UInt8>, prefix: Bool = true) -> String {
        var out: [UInt8] = prefix ? [UInt8(ascii: "0"), UInt8(ascii: "x")] : []
        out.reserveCapacity(out.count + bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex with an optional `0x`/`0X` prefix and digits of either case.
    ///
    /// - Throws: ``EVMError/Code/invalidHex`` for an odd number of digits or a non-hex character.
    public static func decode(_ string: some StringProtocol) throws(EVMError) -> [UInt8] {
        try decode(String(string))
    }

    /// Decodes hex with an optional `0x`/`0X` prefix and digits of either case.
    ///
    /// The concrete overload, over the string's UTF-8 bytes: the generic one, called across
    /// modules, ran unspecialized, and every address of a paid request is parsed.
    /// - Throws: ``EVMError/Code/invalidHex`` for an odd number of digits or a non-hex character.
    public static func decode(_ string: String) throws(EVMError) -> [UInt8] {
        var contiguous = string
        return try contiguous.withUTF8 { utf8 in Result { () throws(EVMError) in try decode(utf8: utf8, of: string) } }.get()
    }

    private static func decode(utf8: UnsafeBufferPointer<UInt8>, of string: @autoclosure () -> String) throws(EVMError) -> [UInt8] {
        var k = 0
        if utf8.count >= 2, utf8[0] == UInt8(ascii: "0"), utf8[1] == UInt8(ascii: "x") || utf8[1] == UInt8(ascii: "X") { k = 2 }
        guard (utf8.count - k) % 2 == 0 else {
            throw EVMError(.invalidHex, "hex string has an odd number of digits (\(utf8.count - k))")
        }
        var out = [UInt8]()
        out.reserveCapacity((utf8.count - k) / 2)
        while k < utf8.count {
            guard let h = value(of: utf8[k]), let l = value(of: utf8[k + 1]) else {
                throw EVMError(.invalidHex, "not a hex digit in \(string().prefix(80).debugDescription)")
            }
            out.append(h << 4 | l)
            k += 2
        }
        return out
    }

    /// Decodes hex that must hold exactly `count` bytes.
    ///
    /// - Throws: ``EVMError/Code/invalidHex`` or ``EVMError/Code/invalidLength``.
    public static func decode(_ string: String, count: Int) throws(EVMError) -> [UInt8] {
        let bytes = try decode(string)
        guard bytes.count == count else {
            throw EVMError(.invalidLength, "expected \(count) bytes of hex, got \(bytes.count)")
        }
        return bytes
    }

    @inline(__always)
    static func value(of ascii: UInt8) -> UInt8? {
        switch ascii {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): ascii &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): ascii &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): ascii &- UInt8(ascii: "A") &+ 10
        default: nil
        }
    }
}
