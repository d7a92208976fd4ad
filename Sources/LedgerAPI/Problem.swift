import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import NIOCore

/// Writes errors as RFC 9457 problem documents.
enum Problem {
    static let contentType = "application/problem+json"

    static func response(_ error: APIError, requestID: String?) -> Response {
        var document: [String: JSONValue] = [
            "type": .string("urn:settle:problem:\(error.code.rawValue)"),
            "title": .string(error.status.reasonPhrase),
            "status": .number(String(error.status.code)),
            "detail": .string(error.message),
            "code": .string(error.code.rawValue),
        ]
        if let requestID { document["request_id"] = .string(requestID) }
        for (key, value) in error.extra where document[key] == nil { document[key] = .string(value) }
        var headers = HTTPFields()
        headers[.contentType] = contentType
        if error.status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(
            status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(document).canonicalJSON)))
    }
}
