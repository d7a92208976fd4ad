/// Decoding that refuses fields a type does not know: in a payment request, a misspelt field
/// (`ammount`) must fail loudly rather than be dropped.
extension Decoder {
    /// Throws `DecodingError.dataCorrupted` ("unknown field …", at the field's path) when the
    /// object holds a key that is not one of `keys`.
    public func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws {
        let container = try self.container(keyedBy: AnyKey.self)
        let known = Set(Keys.allCases.map(\.stringValue))
        if let unknown = container.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [unknown], debugDescription: "unknown field \(unknown.stringValue)"))
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
