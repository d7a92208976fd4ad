import Foundation
import Ledger

/// JSON encoding and decoding as the CLI prints and reads it: sorted keys, RFC 3339 times.
enum JSONCoding {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        e.keyEncodingStrategy = .convertToSnakeCase
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    static func line(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

extension TransferResult {
    /// One JSON object per result: `{"status": "created", "sequence": 12}` or `{"status": "rejected", "code": …}`.
    var json: [String: String] {
        switch self {
        case .created(let r), .exists(let r): ["status": status, "sequence": String(r.sequence)]
        case .rejected(let e): ["status": status, "code": e.code.rawValue, "message": e.message]
        }
    }
}

extension CreateResult {
    var word: String {
        switch self {
        case .created: "created"
        case .exists: "exists"
        case .rejected(let e): "rejected \(e.code): \(e.message)"
        }
    }
}
