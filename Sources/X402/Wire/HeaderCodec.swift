import Foundation
import Ledger
import Paywall

/// A payment header or body that cannot be taken: too large, not base64, not JSON, too deep, or
/// not the expected message.
public struct X402WireError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case tooLarge = "too_large"
        case invalidBase64 = "invalid_base64"
        case invalidJSON = "invalid_json"
        case tooDeep = "too_deep"
        case invalidMessage = "invalid_message"
        case unsupportedVersion = "unsupported_version"
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// The x402 header encoding: standard base64 with padding (RFC 4648 §4) of UTF-8 JSON, with
/// limits checked before any decoding work.
public struct X402HeaderCodec: Sendable {
    /// Larger header values are refused (x402-conformance errors above 16 KiB).
    public var maxHeaderBytes: Int
    /// Deeper JSON nesting is refused before decoding.
    public var maxDepth: Int

    public init(maxHeaderBytes: Int = 16 * 1024, maxDepth: Int = 16) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxDepth = maxDepth
    }

    public static let standard = X402HeaderCodec()

    /// base64(JSON(value)), keys sorted so that equal values give equal headers.
    public func encode(_ value: some Encodable) -> String {
        Self.json(value).base64EncodedString()
    }

    /// Decodes a header value.
    public func decode<T: Decodable>(_ type: T.Type, from header: String) throws(X402WireError) -> T {
        try decodeJSON(type, from: try bytes(of: header))
    }

    /// Decodes a payment header: the form nearly every client sends through the strict parser
    /// (``PaymentPayload/init(parsed:)``), anything else through `Decodable`, which stays the only
    /// definition of the form and of every error.
    public func decode(_ type: PaymentPayload.Type, from header: String) throws(X402WireError) -> PaymentPayload {
        let data = try bytes(of: header)
        try checkDepth(data)
        if let tree = try? StrictJSONParser<X402JSONTree>.parse(data), let payload = PaymentPayload(parsed: tree) { return payload }
        return try decodeJSON(type, from: data)
    }

    /// The JSON bytes of a header value.
    func bytes(of header: String) throws(X402WireError) -> Data {
        guard header.utf8.count <= maxHeaderBytes else {
            throw X402WireError(.tooLarge, "the header has \(header.utf8.count) bytes, more than \(maxHeaderBytes)")
        }
        // Optional whitespace around a field value is spaces and tabs (RFC 9110 §5.6.3); trimmed
        // on the bytes, since `trimmingCharacters(in:)` bridged every header through UTF-16.
        var utf8 = header.utf8[...]
        while let first = utf8.first, first == 0x20 || first == 0x09 { utf8 = utf8.dropFirst() }
        while let last = utf8.last, last == 0x20 || last == 0x09 { utf8 = utf8.dropLast() }
        guard let data = Data(base64Encoded: Data(utf8)) else {
            throw X402WireError(.invalidBase64, "the header is not padded standard base64")
        }
        return data
    }

    /// Decodes a JSON body with the same depth limit.
    public func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data) throws(X402WireError) -> T {
        try checkDepth(data)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            switch error {
            case .dataCorrupted(let context) where context.codingPath.isEmpty:
                throw X402WireError(.invalidJSON, "not JSON")
            default:
                throw X402WireError(.invalidMessage, "not a valid \(T.self): \(Self.describe(error))")
            }
        } catch {
            throw X402WireError(.invalidJSON, "not JSON")
        }
    }

    /// Counts bracket nesting outside strings: O(n), no allocation.
    func checkDepth(_ data: Data) throws(X402WireError) {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in data {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > maxDepth { throw X402WireError(.tooDeep, "JSON nested deeper than \(maxDepth) levels") }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
    }

    static func json(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every message here is plain strings, numbers, bools and nested values of them.
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing \((path(context).isEmpty ? "" : path(context) + ".") + key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "bad value at \(path(context).isEmpty ? "the top" : path(context))"
        @unknown default: return "undecodable"
        }
    }
}

/// The x402 HTTP header names.
public enum X402Headers {
    public static let paymentRequired = "PAYMENT-REQUIRED"
    public static let paymentSignature = "PAYMENT-SIGNATURE"
    public static let paymentResponse = "PAYMENT-RESPONSE"
    public static let xPayment = "X-PAYMENT"
    public static let xPaymentResponse = "X-PAYMENT-RESPONSE"
}
