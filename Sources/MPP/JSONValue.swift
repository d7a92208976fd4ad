import Foundation
import Paywall

/// A JSON value as MPP carries it: a challenge's `request` and `opaque`, a credential's `payload`,
/// a receipt's `extra`.
///
/// Integers are kept apart from other numbers because RFC 8785 prints them differently from what
/// a `Double` would round to, and MPP amounts travel as strings or exact integers.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Decodes one JSON text.
    /// - Throws: ``MPPWireError/Code/invalidJSON`` when `data` is not JSON.
    /// Strict: duplicate member names, unpaired surrogates and nesting deeper than 64 are refused
    /// too, since a credential's members bind money.
    public static func decode(_ data: some Collection<UInt8>) throws(MPPWireError) -> JSONValue {
        do {
            return try JSONParser.parse(data)
        } catch {
            throw MPPWireError(.invalidJSON, "not a JSON text (\(error.description))")
        }
    }

    /// The members when this is an object, else nil.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The string when this is a string, else nil.
    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Bool before the numbers and Int64 before Double, so that `true` and `7` keep their kinds.
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let bool): try container.encode(bool)
        case .integer(let integer): try container.encode(integer)
        case .number(let number): try container.encode(number)
        case .string(let string): try container.encode(string)
        case .array(let array): try container.encode(array)
        case .object(let object): try container.encode(object)
        }
    }
}

/// MPP's JSON values from the strict parser: an integer that fits `Int64` stays one (amounts and
/// chain ids keep their exact value); anything with a fraction or an exponent, or beyond `Int64`,
/// is a finite `Double`.
enum MPPJSONTree: JSONTreeBuilder {
    static func null() -> JSONValue { .null }
    static func bool(_ value: Bool) -> JSONValue { .bool(value) }
    static func number(_ text: String, integral: Bool) -> JSONValue? {
        if integral, let integer = Int64(text) { return .integer(integer) }
        guard let number = Double(text), number.isFinite else { return nil }
        return .number(number)
    }
    static func string(_ value: String) -> JSONValue { .string(value) }
    static func array(_ elements: [JSONValue]) -> JSONValue { .array(elements) }
    static func object(_ members: [String: JSONValue]) -> JSONValue { .object(members) }
}

typealias JSONParser = StrictJSONParser<MPPJSONTree>
