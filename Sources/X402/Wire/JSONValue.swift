import Ledger

// The open parts of x402 messages (`extra`, `extensions`, scheme payloads) are the ledger's
// `JSONValue`: kept as received (numbers as their JSON text) and encoded back unchanged, so that
// what a client echoes matches what it got.

extension JSONValue {
    /// The member `key` of an object.
    subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var stringValue: String? { if case .string(let s) = self { s } else { nil } }
}
