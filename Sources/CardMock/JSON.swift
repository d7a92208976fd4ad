import Foundation

/// A JSON value: how the mock renders every API object, event payload and error envelope.
///
/// Stripe objects carry explicit `null`s (stripe-python raises `AttributeError` on a missing key),
/// so rendering goes through this type rather than synthesized `Codable`, which drops `nil`s.
public enum JSON: Sendable, Hashable, Codable {
    /// `null`; Stripe sends it for every unset field.
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Most common first: every failed attempt costs a thrown error, and journals are mostly strings.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode([String: JSON].self) {
            self = .object(value)
        } else {
            self = .array(try container.decode([JSON].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The member `key` of an object; nil for other values. Setting on a non-object does nothing.
    public subscript(key: String) -> JSON? {
        get {
            if case .object(let members) = self { return members[key] }
            return nil
        }
        set {
            guard case .object(var members) = self else { return }
            members[key] = newValue
            self = .object(members)
        }
    }

    /// The value of a `.string`.
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value of an `.int`.
    public var int: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The elements of an `.array`.
    public var array: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// Pretty-printed with sorted keys, like Stripe's own responses; webhook bodies are these bytes.
    public func encoded(pretty: Bool = true) -> Data {
        // Encoding a JSON value cannot fail: every case maps to a JSON token.
        try! (pretty ? Self.prettyEncoder : Self.compactEncoder).encode(self)
    }

    static let prettyEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static let compactEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
}

extension JSON {
    /// `nil` becomes `null`.
    static func from(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }
    static func from(_ value: Int64?) -> JSON { value.map(JSON.int) ?? .null }
    static func from(_ metadata: [String: String]) -> JSON { .object(metadata.mapValues(JSON.string)) }
}
