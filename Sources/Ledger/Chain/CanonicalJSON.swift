/// Canonical JSON for the hash chain: object members sorted by the UTF-8 bytes of their keys, no
/// insignificant whitespace, numbers exactly as written, strings escaped only where JSON requires
/// (`"`, `\`, control characters), as ``JSONValue/canonicalJSON`` writes them.
///
/// It works on the text, not through ``JSONValue``: a number keeps every digit (no trip through
/// `Double`), and keys that Swift's `String` would call equal (canonically equivalent Unicode) stay
/// distinct, as they are in `jsonb`. So two stored values that differ always encode differently,
/// and the canonical form does not depend on how PostgreSQL spaces or orders its output.
enum CanonicalJSON {
    /// The canonical text of `text`, or nil if it is not JSON.
    static func canonical(_ text: String) -> [UInt8]? {
        var parser = Parser(bytes: Array(text.utf8))
        guard let value = parser.value() else { return nil }
        parser.skipSpace()
        return parser.index == parser.bytes.count ? value : nil
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        /// Nesting is bounded: a hostile document must not exhaust the stack.
        var depth = 0

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func value() -> [UInt8]? {
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"): return object()
            case UInt8(ascii: "["): return array()
            case UInt8(ascii: "\""): return string().map(Self.quoted)
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func literal(_ word: String) -> [UInt8]? {
            let w = Array(word.utf8)
            guard bytes[index...].starts(with: w) else { return nil }
            index += w.count
            return w
        }

        mutating func number() -> [UInt8]? {
            let start = index
            while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
            return index > start ? Array(bytes[start..<index]) : nil
        }

        mutating func array() -> [UInt8]? {
            guard depth < 256 else { return nil }
            depth += 1
            defer { depth -= 1 }
            index += 1
            var out: [UInt8] = [UInt8(ascii: "[")]
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return out + [UInt8(ascii: "]")]
            }
            while true {
                guard let element = value() else { return nil }
                out += element
                skipSpace()
                guard index < bytes.count else { return nil }
                index += 1
                switch bytes[index - 1] {
                case UInt8(ascii: ","): out.append(UInt8(ascii: ","))
                case UInt8(ascii: "]"): return out + [UInt8(ascii: "]")]
                default: return nil
                }
            }
        }

        mutating func object() -> [UInt8]? {
            guard depth < 256 else { return nil }
            depth += 1
            defer { depth -= 1 }
            index += 1
            var members: [(key: [UInt8], value: [UInt8])] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return Array("{}".utf8)
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                guard let element = value() else { return nil }
                members.append((key, element))
                skipSpace()
                guard index < bytes.count else { return nil }
                index += 1
                if bytes[index - 1] == UInt8(ascii: "}") { break }
                guard bytes[index - 1] == UInt8(ascii: ",") else { return nil }
            }
            members.sort { $0.key.lexicographicallyPrecedes($1.key) }
            var out: [UInt8] = [UInt8(ascii: "{")]
            for (k, member) in members.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                out += Self.quoted(member.key) + [UInt8(ascii: ":")] + member.value
            }
            return out + [UInt8(ascii: "}")]
        }

        /// The string at `index` (its opening quote), unescaped to UTF-8 bytes.
        mutating func string() -> [UInt8]? {
            index += 1
            var out: [UInt8] = []
            while index < bytes.count {
                let c = bytes[index]
                index += 1
                if c == UInt8(ascii: "\"") { return out }
                guard c == UInt8(ascii: "\\") else {
                    out.append(c)
                    continue
                }
                guard index < bytes.count else { return nil }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by an escaped low one.
                        guard bytes[index...].starts(with: Array("\\u".utf8)) else { return nil }
                        index += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    out += Array(String(Character(unicode)).utf8)
                default: return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                return nil
            }
            index += 4
            return v
        }

        /// A string quoted and escaped as ``JSONValue/canonicalJSON`` does.
        static func quoted(_ raw: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [UInt8(ascii: "\"")]
            let digits = Array("0123456789abcdef".utf8)
            for c in raw {
                switch c {
                case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), c]
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), c]
                case 0x0A: out += Array("\\n".utf8)
                case 0x0D: out += Array("\\r".utf8)
                case 0x09: out += Array("\\t".utf8)
                case 0..<0x20: out += Array("\\u00".utf8) + [digits[Int(c >> 4)], digits[Int(c & 0x0F)]]
                default: out.append(c)
                }
            }
            out.append(UInt8(ascii: "\""))
            return out
        }
    }
}
