import Foundation

/// Base64url without padding (RFC 4648 §5), the encoding of every MPP header payload.
///
/// Decoding is strict: padding, whitespace and characters of the standard alphabet are refused,
/// so that one payload has one spelling (a challenge's `request` is bound into its id verbatim).
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Each byte's 6-bit value, or 0xFF outside the alphabet.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    /// Encodes bytes without padding.
    public static func encode(_ data: some DataProtocol) -> String {
        let bytes = Array(data)
        return String(unsafeUninitializedCapacity: (bytes.count * 4 + 2) / 3) { output in
            var o = 0
            var k = 0
            while k + 3 <= bytes.count {
                let n = UInt32(bytes[k]) << 16 | UInt32(bytes[k + 1]) << 8 | UInt32(bytes[k + 2])
                output[o] = alphabet[Int(n >> 18)]
                output[o + 1] = alphabet[Int(n >> 12 & 63)]
                output[o + 2] = alphabet[Int(n >> 6 & 63)]
                output[o + 3] = alphabet[Int(n & 63)]
                o += 4
                k += 3
            }
            let rest = bytes.count - k
            if rest > 0 {
                let n = UInt32(bytes[k]) << 16 | (rest == 2 ? UInt32(bytes[k + 1]) << 8 : 0)
                output[o] = alphabet[Int(n >> 18)]
                output[o + 1] = alphabet[Int(n >> 12 & 63)]
                o += 2
                if rest == 2 {
                    output[o] = alphabet[Int(n >> 6 & 63)]
                    o += 1
                }
            }
            return o
        }
    }

    /// Decodes unpadded base64url.
    /// - Throws: ``MPPWireError/Code/invalidBase64URL`` on padding, a foreign character or a length
    ///   no encoding produces (a remainder of 1 modulo 4). Unused trailing bits are ignored, as
    ///   Python's decoder (pympp's) ignores them.
    public static func decode(_ text: String) throws(MPPWireError) -> Data {
        let input = text.utf8
        guard input.count % 4 != 1 else { throw MPPWireError(.invalidBase64URL, "an impossible length") }
        var output = [UInt8]()
        output.reserveCapacity(input.count * 3 / 4)
        var n: UInt32 = 0
        var bits = 0
        for byte in input {
            let value = values[Int(byte)]
            guard value != 0xFF else { throw MPPWireError(.invalidBase64URL, "a character outside the base64url alphabet") }
            n = n << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: n >> UInt32(bits)))
                n &= (1 << UInt32(bits)) - 1
            }
        }
        return Data(output)
    }

    /// Decodes unpadded base64url holding a JSON object, as MPP's `request`, `opaque`, credentials
    /// and receipts are.
    /// - Parameter maxLength: The longest encoded text accepted (pympp: 16 KiB, 64 KiB for `Authorization`).
    public static func decodeJSONObject(_ text: String, maxLength: Int = 16 * 1024) throws(MPPWireError) -> [String: JSONValue] {
        guard text.utf8.count <= maxLength else { throw MPPWireError(.oversized, "an encoded value over \(maxLength) bytes") }
        guard let object = try JSONValue.decode(decode(text)).objectValue else {
            throw MPPWireError(.invalidJSON, "expected a JSON object")
        }
        return object
    }
}
