/// Text the database can store: PostgreSQL's `text` and `jsonb` refuse the NUL character (a JSON
/// `\u0000` decodes to one), so it is refused here, with a typed error, before it reaches them.
/// Swift strings are always valid Unicode: unpaired surrogates and invalid UTF-8 never decode into
/// one (the JSON layer refuses them first).
enum StoredText {
    static func isStorable(_ text: String) -> Bool {
        !text.utf8.contains(0)
    }

    /// Whether every key and string of `metadata`, at any depth, is storable.
    static func isStorable(_ metadata: Metadata) -> Bool {
        metadata.allSatisfy { isStorable($0.key) && isStorable($0.value) }
    }

    private static func isStorable(_ value: JSONValue) -> Bool {
        switch value {
        case .null, .bool, .number: true
        case .string(let text): isStorable(text)
        case .array(let items): items.allSatisfy(isStorable)
        case .object(let members): isStorable(members)
        }
    }
}
