import Foundation

/// RFC 8785 JSON Canonicalization Scheme: the one spelling of a JSON value that MPP encodes into
/// `request` and `opaque` and binds into a challenge id, so that every SDK derives the same id.
public enum JCS {
    /// The largest integer magnitude an IEEE double (JCS's number model) holds exactly.
    public static let maxSafeInteger: Int64 = 9_007_199_254_740_991

    /// The canonical UTF-8 bytes of `value`.
    /// - Throws: ``MPPWireError/Code/notCanonicalizable`` for NaN, infinities and integers beyond
    ///   ±(2^53 − 1), which JCS cannot print without changing them (pympp's `rfc8785` refuses them too).
    public static func canonicalize(_ value: JSONValue) throws(MPPWireError) -> Data {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        try write(value, to: &output)
        return Data(output)
    }

    /// `base64url_nopad(JCS(value))`, the encoding of a challenge's `request` and `opaque`.
    public static func base64URL(_ value: JSONValue) throws(MPPWireError) -> String {
        Base64URL.encode(try canonicalize(value))
    }

    private static func write(_ value: JSONValue, to output: inout [UInt8]) throws(MPPWireError) {
        switch value {
        case .null: output += "null".utf8
        case .bool(let bool): output += (bool ? "true" : "false").utf8
        case .integer(let integer):
            guard integer >= -maxSafeInteger, integer <= maxSafeInteger else {
                throw MPPWireError(.notCanonicalizable, "an integer beyond ±(2^53 − 1)")
            }
            output += String(integer).utf8
        case .number(let number): output += try format(number).utf8
        case .string(let string): writeString(string, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            // RFC 8785 §3.2.3: members sorted by their names' UTF-16 code units.
            let names = members.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
            output.append(UInt8(ascii: "{"))
            for (index, name) in names.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(name, to: &output)
                output.append(UInt8(ascii: ":"))
                try write(members[name]!, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// RFC 8785 §3.2.2.2: only `"`, `\` and the C0 controls are escaped; the short forms where JSON
    /// has them, else `\u00xx` in lowercase hex. Everything else is literal UTF-8.
    private static func writeString(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += #"\""#.utf8
            case UInt8(ascii: "\\"): output += #"\\"#.utf8
            case 0x08: output += #"\b"#.utf8
            case 0x0C: output += #"\f"#.utf8
            case 0x0A: output += #"\n"#.utf8
            case 0x0D: output += #"\r"#.utf8
            case 0x09: output += #"\t"#.utf8
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output += #"\u00"#.utf8
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 15)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// RFC 8785 §3.2.2.3: ECMAScript's `Number.prototype.toString`, built from Swift's shortest
    /// round-trip digits (which ECMAScript also uses) laid out by ECMA-262's rules.
    static func format(_ number: Double) throws(MPPWireError) -> String {
        guard number.isFinite else { throw MPPWireError(.notCanonicalizable, "NaN or an infinity") }
        if number == 0 { return "0" }  // -0 too
        let negative = number < 0
        let text = "\(number.magnitude)"  // e.g. "100.0", "1e-07", "1.5e+300"
        let parts = text.split(separator: "e", maxSplits: 1)
        let exponent = parts.count == 2 ? Int(parts[1])! : 0
        let mantissa = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        let integerDigits = String(mantissa[0])
        let fractionDigits = mantissa.count > 1 ? String(mantissa[1]) : ""
        var digits = Array(integerDigits + fractionDigits)
        // Where the decimal point falls, counted from the start of `digits`.
        var point = integerDigits.count + exponent
        while digits.first == "0" {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        let k = digits.count
        let n = point
        let s = String(digits)
        var result: String
        if k <= n, n <= 21 {
            result = s + String(repeating: "0", count: n - k)
        } else if 0 < n, n <= 21 {
            result = String(digits[..<n]) + "." + String(digits[n...])
        } else if -6 < n, n <= 0 {
            result = "0." + String(repeating: "0", count: -n) + s
        } else {
            let e = n - 1
            let sign = e < 0 ? "-" : "+"
            result = String(digits[0]) + (k > 1 ? "." + String(digits[1...]) : "") + "e" + sign + String(e.magnitude)
        }
        return (negative ? "-" : "") + result
    }
}
