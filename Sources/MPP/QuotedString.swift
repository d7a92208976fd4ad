/// RFC 9110 quoted-strings as the `Payment` scheme spells them: `\"` and `\\` escaped, and
/// characters beyond Latin-1 as `\uXXXX` UTF-16 escapes (what mppx emits and pympp reads), so
/// header values stay within the octets HTTP allows.
enum QuotedString {
    /// `"value"` with escapes.
    /// - Throws: ``MPPWireError/Code/invalidParameter`` for CR or LF, which would split the header.
    static func quote(_ value: String) throws(MPPWireError) -> String {
        var output = "\""
        for scalar in value.unicodeScalars {
            switch scalar.value {
            case 0x0D, 0x0A: throw MPPWireError(.invalidParameter, "a header value containing CR or LF")
            case 0x5C: output += "\\\\"
            case 0x22: output += "\\\""
            case ...0xFF: output.unicodeScalars.append(scalar)
            default:
                for unit in String(scalar).utf16 { output += "\\u" + hex4(unit) }
            }
        }
        return output + "\""
    }

    /// The content of a quoted-string (between its quotes) unescaped: quoted-pairs, and `\uXXXX`
    /// UTF-16 escapes with surrogate pairs joined; a lone surrogate becomes U+FFFD.
    static func unescape(_ body: [Unicode.Scalar]) -> String {
        var result = String.UnicodeScalarView()
        var index = 0
        func unit(at position: Int) -> UInt16? {
            guard position + 4 < body.count, body[position] == "u" else { return nil }
            let digits = String(String.UnicodeScalarView(body[(position + 1)...(position + 4)]))
            return digits.unicodeScalars.allSatisfy(\.properties.isASCIIHexDigit) ? UInt16(digits, radix: 16) : nil
        }
        while index < body.count {
            guard body[index] == "\\" else {
                result.append(body[index])
                index += 1
                continue
            }
            index += 1
            guard index < body.count else { break }
            guard let code = unit(at: index) else {
                result.append(body[index])
                index += 1
                continue
            }
            index += 5
            switch code {
            case 0xD800...0xDBFF:
                if index < body.count, body[index] == "\\", let low = unit(at: index + 1), (0xDC00...0xDFFF).contains(low) {
                    let value = 0x10000 + ((UInt32(code) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    result.append(Unicode.Scalar(value)!)
                    index += 6
                } else {
                    result.append("\u{FFFD}")
                }
            case 0xDC00...0xDFFF: result.append("\u{FFFD}")
            default: result.append(Unicode.Scalar(code)!)
            }
        }
        return String(result)
    }

    /// An RFC 9110 `tchar`.
    static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": true
        default: "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar)
        }
    }

    private static func hex4(_ unit: UInt16) -> String {
        let hex = String(unit, radix: 16)
        return String(repeating: "0", count: 4 - hex.count) + hex
    }
}
