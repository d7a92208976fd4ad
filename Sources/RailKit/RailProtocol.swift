import Foundation
import Ledger

/// The JSON-lines protocol between Settle and an out-of-process rail (``ProcessRail``): its
/// version, messages and encoding. `docs/rails.md` describes it message by message.
///
/// Every message is one line of UTF-8 JSON ending in `\n`. Amounts are strings of decimal digits,
/// times RFC 3339 strings (fractional seconds allowed), keys snake_case. Settle writes to the
/// child's standard input and reads its standard output; standard error is the child's log.
public enum RailProtocol {
    /// The protocol version this Settle speaks.
    public static let version = 1

    /// Longest line Settle accepts from a rail, newline excluded; a longer one is a protocol
    /// violation.
    public static let defaultMaxLineBytes = 16 * 1024 * 1024

    /// Request methods.
    public enum Method: String, Sendable {
        case fetchNext = "fetch_next"
        case statement
        case verifyWebhook = "verify_webhook"
    }

    /// `{"type":"hello","protocol":1,"config":{…}}`: Settle's first message.
    struct Hello: Encodable {
        var type = "hello"
        var `protocol`: Int
        var config: Metadata
    }

    /// The child's answer to hello: `{"type":"hello","protocol":1,"descriptor":{…}}`, or
    /// `{"type":"error","error":{"code":…,"message":…}}` when it cannot start (bad settings).
    struct HelloAnswer: Decodable {
        var type: String
        var `protocol`: Int?
        var descriptor: WireDescriptor?
        var error: WireError?
    }

    /// `{"id":N,"method":"…","params":{…}}`.
    struct Request<Params: Encodable>: Encodable {
        var id: Int
        var method: String
        var params: Params
    }

    /// `{"id":N,"result":{…}}` or `{"id":N,"error":{…}}`.
    struct Response<Result: Decodable>: Decodable {
        var id: Int?
        var result: Result?
        var error: WireError?
    }

    /// Only the id of a response, read when its result does not decode, to tell a wrong id from a
    /// wrong result.
    struct ResponseID: Decodable {
        var id: Int?
    }

    struct WireError: Codable {
        var code: String
        var message: String
    }

    struct FetchNextParams: Encodable {
        var cursor: String?
        var pageSize: Int

        enum CodingKeys: String, CodingKey {
            case cursor
            case pageSize = "page_size"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(cursor, forKey: .cursor)  // null, not absent
            try c.encode(pageSize, forKey: .pageSize)
        }
    }

    struct StatementParams: Encodable {
        var from: Date
        var to: Date
        var cursor: String?
        var pageSize: Int

        enum CodingKeys: String, CodingKey {
            case from, to, cursor
            case pageSize = "page_size"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(from, forKey: .from)
            try c.encode(to, forKey: .to)
            try c.encode(cursor, forKey: .cursor)
            try c.encode(pageSize, forKey: .pageSize)
        }
    }

    struct VerifyWebhookParams: Encodable {
        var headers: [String: String]
        var bodyBase64: String

        enum CodingKeys: String, CodingKey {
            case headers
            case bodyBase64 = "body_base64"
        }
    }

    /// A descriptor as the protocol spells it: snake_case keys, `kind` optional (Settle sets
    /// `process`), an asset's `metadata` optional. Kept apart from ``RailDescriptor``'s own Codable
    /// so that the wire format is fixed by the protocol version, not by a Swift type.
    struct WireDescriptor: Decodable {
        struct WireAsset: Decodable {
            var id: AssetID
            var code: String
            var scale: Int
            var rail: String?
            var network: String?
            var token: String?
            var metadata: Metadata?
        }

        var id: String
        var kind: String?
        var summary: String
        var assets: [WireAsset]
        var capabilities: [RailDescriptor.Capability]
        var fundFlow: FundFlow

        enum CodingKeys: String, CodingKey {
            case id, kind, summary, assets, capabilities
            case fundFlow = "fund_flow"
        }

        func descriptor(kind: String) -> RailDescriptor {
            RailDescriptor(
                id: id, kind: kind, summary: summary,
                assets: assets.map {
                    Asset(
                        id: $0.id, code: $0.code, scale: $0.scale, rail: $0.rail, network: $0.network, token: $0.token,
                        metadata: $0.metadata ?? [:])
                },
                capabilities: Set(capabilities), fundFlow: fundFlow)
        }
    }

    /// The encoder of Settle's messages: dates as RFC 3339 in UTC, fractional seconds when the
    /// date has them.
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(formatDate(date))
        }
        return encoder
    }

    /// The decoder of a rail's messages: dates as RFC 3339 with an offset, with or without
    /// fractional seconds.
    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let date = parseDate(text) else {
                throw DecodingError.dataCorruptedError(
                    in: c, debugDescription: "not an RFC 3339 time with an offset: \(text.debugDescription)")
            }
            return date
        }
        return decoder
    }

    /// `2026-11-29T10:00:00Z`, or `2026-11-29T10:00:00.250Z` when the date has a fraction.
    public static func formatDate(_ date: Date) -> String {
        let whole = date.timeIntervalSince1970.rounded(.down) == date.timeIntervalSince1970
        return whole ? Date.ISO8601FormatStyle().format(date) : Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }

    /// An RFC 3339 time with `Z` or a numeric offset, with or without fractional seconds.
    public static func parseDate(_ text: String) -> Date? {
        guard text.utf8.count <= 64 else { return nil }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }

    /// A machine code a rail may answer with: snake_case, 1-64 characters.
    static func isValidCode(_ code: String) -> Bool {
        let bytes = Array(code.utf8)
        guard (1...64).contains(bytes.count), (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0]) else { return false }
        return bytes.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
    }

    /// A short account of why a message did not decode: the path of the field and the reason.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "" : "at \(keys.hasPrefix(".") ? String(keys.dropFirst()) : keys): "
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context))expected \(type): \(context.debugDescription)"
        case .valueNotFound(let type, let context): return "\(path(context))missing \(type)"
        case .keyNotFound(let key, let context): return "\(path(context))missing key \(key.stringValue)"
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "\(path(context))\(context.debugDescription)\(underlying.map { " (\($0))" } ?? "")"
        @unknown default: return "\(error)"
        }
    }
}
