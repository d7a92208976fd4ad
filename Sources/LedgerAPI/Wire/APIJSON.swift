import Foundation
import Hummingbird
import Ledger
import NIOCore
import Timestamps

/// The API's JSON: RFC 3339 times, no key conversion (keys are spelled out by each wire type, so
/// that metadata keys pass through untouched), and request bodies that reject unknown fields.
enum APIJSON {
    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = RFC3339.date(from: text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "\(text.debugDescription) is not an RFC 3339 time"))
            }
            return date
        }
        return decoder
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.string(from: date))
        }
        return encoder
    }

    /// Decodes a request body, mapping every way it can be wrong to a 400 with a precise code.
    static func decode<T: Decodable>(
        _ type: T.Type, from buffer: ByteBuffer, userInfo: [CodingUserInfoKey: any Sendable] = [:]
    ) throws(APIError) -> T {
        do {
            let decoder = decoder()
            decoder.userInfo = userInfo
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError(decoding: error)
        } catch {
            throw APIError(.malformedJSON, .badRequest, "the body is not valid JSON")
        }
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder().encode(value)
        return response(json: ByteBuffer(bytes: data), status: status)
    }

    /// A JSON response whose body is already encoded.
    static func response(json: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: json))
    }
}

extension APIError {
    init(decoding error: DecodingError) {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingPrefix(".").description
        }
        switch error {
        case .dataCorrupted(let context)
        where context.codingPath.isEmpty && (context.underlyingError != nil || context.debugDescription.contains("JSON")):
            self.init(.malformedJSON, .badRequest, "the body is not valid JSON")
        case .dataCorrupted(let context) where context.debugDescription.hasPrefix("unknown field"):
            self.init(
                .unknownField, .badRequest,
                "\(context.debugDescription) at \(path(context.codingPath.dropLast()).isEmpty ? "top level" : path(context.codingPath.dropLast()))"
            )
        case .dataCorrupted(let context):
            self.init(.invalidRequest, .badRequest, "\(path(context.codingPath)): \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            self.init(.invalidRequest, .badRequest, "missing field \(path(context.codingPath + [key]))")
        case .typeMismatch(let type, let context):
            self.init(.invalidRequest, .badRequest, "\(path(context.codingPath)): expected \(Self.jsonType(type))")
        case .valueNotFound(let type, let context):
            self.init(.invalidRequest, .badRequest, "\(path(context.codingPath)): expected \(Self.jsonType(type)), got null")
        @unknown default:
            self.init(.invalidRequest, .badRequest, "the body does not match the schema")
        }
    }

    private static func jsonType(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int16.Type, is Int32.Type: "an integer"
        case is [Any].Type: "an array"
        default: "another type"
        }
    }
}
