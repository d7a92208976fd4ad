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
