import Foundation

/// Base64url without padding (RFC 4648 §5), the encoding of every MPP header payload.
///
/// Decoding is strict: padding, whitespace and characters of the standard alphabet are refused,
/// so that one payload has one spelling (a challenge's `request` is bound into its id verbatim).
public enum Base64URL {
    /// Encodes bytes without padding.
    public static func encode(_ data: some DataProtocol) -> String {
        var text = Data(data).base64EncodedString()
        while text.last == "=" { text.removeLast() }
        return String(
            text.map { character -> Character in
                switch character {
                case "+": "-"
                case "/": "_"
                default: character
                }
            })
    }

    /// Decodes unpadded base64url.
    /// - Throws: ``MPPWireError/Code/invalidBase64URL`` on padding, a foreign character or a length
    ///   no encoding produces (a remainder of 1 modulo 4).
    public static func decode(_ text: String) throws(MPPWireError) -> Data {
        var standard = ""
        standard.reserveCapacity(text.utf8.count + 3)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                standard.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "-"): standard.append("+")
            case UInt8(ascii: "_"): standard.append("/")
            default: throw MPPWireError(.invalidBase64URL, "a character outside the base64url alphabet")
            }
        }
        guard text.utf8.count % 4 != 1 else { throw MPPWireError(.invalidBase64URL, "an impossible length") }
        standard += String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: standard) else {
            throw MPPWireError(.invalidBase64URL, "not base64url")
        }
        return data
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
