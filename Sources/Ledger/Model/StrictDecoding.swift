/// Decoding that refuses fields a type does not know: in a payment request, a misspelt field
/// (`ammount`) must fail loudly rather than be dropped.
extension Decoder {
    /// Throws `DecodingError.dataCorrupted` ("unknown field …", at the field's path) when the
    /// object holds a key that is not one of `keys`.
    public func rejectUnknownKeys<Keys: CodingKey>(_ keys: Keys.Type) throws {
        // Keys(stringValue:) is the enum's own switch: no set to build on every object decoded.
        let container = try self.container(keyedBy: AnyKey.self)
        if let unknown = container.allKeys.first(where: { Keys(stringValue: $0.stringValue) == nil }) {
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath + [unknown], debugDescription: "unknown field \(unknown.stringValue)"))
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer {
    /// The field's value, or nil when the field is absent. Unlike `decodeIfPresent`, an explicit
    /// JSON `null` is refused (`DecodingError.valueNotFound`): the API's request fields are never
    /// nullable, and a client sending `null` for an object is as wrong as one sending a number.
    public func decodeUnlessAbsent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: codingPath + [key], debugDescription: "\(key.stringValue) is null: leave the field out instead"))
        }
        return try decode(type, forKey: key)
    }
}
