/// How a JSON text becomes a value: each protocol module has its own JSON value (MPP keeps
/// integers apart for RFC 8785; x402 keeps numbers as their text), built by one parser.
public protocol JSONTreeBuilder {
    associatedtype Value
    static func null() -> Value
    static func bool(_ value: Bool) -> Value
    /// A number as written (RFC 8259 grammar checked); `integral`: without fraction or exponent.
    /// Nil refuses it (out of the value's range).
    static func number(_ text: String, integral: Bool) -> Value?
    static func string(_ value: String) -> Value
    static func array(_ elements: [Value]) -> Value
    static func object(_ members: [String: Value]) -> Value
}

/// Why a text is not JSON, with the byte offset of the first offending byte.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    @inlinable public init(description: String) { self.description = description }
}

/// A strict RFC 8259 parser over UTF-8 bytes.
///
/// Every paid request parses a credential or a payment header, so this runs once per voucher:
/// `JSONDecoder` with a `Codable` cascade spent more time failing its guesses than the voucher's
/// signature recovery took. Strictness is deliberate, since a credential's fields bind money:
/// duplicate member names, unpaired surrogates, raw control characters, leading zeros, a
/// byte-order mark and trailing bytes are refused, and nesting is bounded. Inlinable, so that each
/// module's builder is specialized into it.
public struct StrictJSONParser<Builder: JSONTreeBuilder> {
    public static var maxDepth: Int { 64 }

    @usableFromInline let bytes: UnsafeBufferPointer<UInt8>
    @usableFromInline var position = 0
    @usableFromInline var depth = 0

    @inlinable init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Parses one JSON text.
    @inlinable
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> Builder.Value {
        let result = bytes.withContiguousStorageIfAvailable { buffer in Result { () throws(JSONSyntaxError) in try parse(buffer) } }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer in Result { () throws(JSONSyntaxError) in try parse(buffer) } }.get()
    }

    @inlinable
    static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> Builder.Value {
        var parser = StrictJSONParser(buffer)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.position == buffer.count else { throw parser.error("bytes after the JSON value") }
        return value
    }

    @inlinable func error(_ what: String) -> JSONSyntaxError {
        JSONSyntaxError(description: "\(what) at byte \(position)")
    }

    @inlinable var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    @inlinable mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    @inlinable mutating func expect(_ literal: StaticString, _ value: Builder.Value) throws(JSONSyntaxError) -> Builder.Value {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("a truncated literal") }
        for k in 0..<count where bytes[position + k] != literal.utf8Start[k] { throw error("an unknown literal") }
        position += count
        return value
    }

    @inlinable mutating func value() throws(JSONSyntaxError) -> Builder.Value {
        guard let byte = current else { throw error("the end of the text") }
        switch byte {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return Builder.string(try string())
        case UInt8(ascii: "t"): return try expect("true", Builder.bool(true))
        case UInt8(ascii: "f"): return try expect("false", Builder.bool(false))
        case UInt8(ascii: "n"): return try expect("null", Builder.null())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("an unexpected character")
        }
    }

    @inlinable mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        guard depth <= Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        position += 1
        skipWhitespace()
    }

    @inlinable mutating func object() throws(JSONSyntaxError) -> Builder.Value {
        try enter()
        defer { depth -= 1 }
        var members: [String: Builder.Value] = [:]
        if current == UInt8(ascii: "}") {
            position += 1
            return Builder.object(members)
        }
        while true {
            guard current == UInt8(ascii: "\"") else { throw error("a member name expected") }
            let name = try string()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("':' expected") }
            position += 1
            skipWhitespace()
            let member = try value()
            guard members.updateValue(member, forKey: name) == nil else { throw error("a duplicate member name") }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                position += 1
                return Builder.object(members)
            default: throw error("',' or '}' expected")
            }
        }
    }

    @inlinable mutating func array() throws(JSONSyntaxError) -> Builder.Value {
        try enter()
        defer { depth -= 1 }
        var elements: [Builder.Value] = []
        if current == UInt8(ascii: "]") {
            position += 1
            return Builder.array(elements)
        }
        while true {
            elements.append(try value())
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                position += 1
                return Builder.array(elements)
            default: throw error("',' or ']' expected")
            }
        }
    }

    @inlinable mutating func string() throws(JSONSyntaxError) -> String {
        position += 1  // the opening quote
        let start = position
        // The common case: no escapes, copied as it stands once its UTF-8 is checked.
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw error("a control character in a string") }
            position += 1
        }
        guard let stop = current else { throw error("an unterminated string") }
        var text = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<position]))
        if stop == UInt8(ascii: "\\") {
            while true {
                guard let byte = current else { throw error("an unterminated string") }
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return try utf8(text, from: start)
                case UInt8(ascii: "\\"):
                    try escape(into: &text)
                case 0..<0x20:
                    position -= 1
                    throw error("a control character in a string")
                default:
                    text.append(byte)
                }
            }
        }
        position += 1
        return try utf8(text, from: start)
    }

    @inlinable func utf8(_ text: [UInt8], from start: Int) throws(JSONSyntaxError) -> String {
        guard let string = String(validating: text, as: UTF8.self) else {
            throw JSONSyntaxError(description: "invalid UTF-8 in the string at byte \(start)")
        }
        return string
    }

    @inlinable mutating func escape(into text: inout [UInt8]) throws(JSONSyntaxError) {
        guard let byte = current else { throw error("an unterminated escape") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(byte)
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "n"): text.append(0x0A)
        case UInt8(ascii: "r"): text.append(0x0D)
        case UInt8(ascii: "t"): text.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard current == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                    throw error("an unpaired surrogate")
                }
                position += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("an unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw error("an unpaired surrogate")
            }
            text.append(contentsOf: Unicode.UTF8.encode(Unicode.Scalar(scalar)!)!)
        default: throw error("an unknown escape")
        }
    }

    @inlinable mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("a truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    @inlinable mutating func number() throws(JSONSyntaxError) -> Builder.Value {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw error("a digit expected") }
        position += 1
        if first == UInt8(ascii: "0"), let next = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) {
            throw error("a leading zero")
        }
        skipDigits()
        var integral = true
        if current == UInt8(ascii: ".") {
            integral = false
            position += 1
            guard skipRequiredDigits() else { throw error("a digit expected after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            integral = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard skipRequiredDigits() else { throw error("a digit expected in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let number = Builder.number(text, integral: integral) else { throw error("a number out of range") }
        return number
    }

    @inlinable mutating func skipDigits() {
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { position += 1 }
    }

    @inlinable mutating func skipRequiredDigits() -> Bool {
        let start = position
        skipDigits()
        return position > start
    }
}
