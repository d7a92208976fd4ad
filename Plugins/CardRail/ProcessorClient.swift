import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import RailKit

/// The processor's v1 API over HTTP: form-encoded requests, JSON answers, the error envelope.
/// Only the base URL and the key differ between the mock and the real processor.
struct ProcessorClient: Sendable {
    let http: HTTPClient
    let baseURL: String
    let apiKey: String
    let timeout: TimeAmount

    /// GET `path` with query `parameters`, decoded as `T`.
    func get<T: Decodable>(_ path: String, _ parameters: [(String, String)] = [], as: T.Type = T.self) async throws(RailError) -> T {
        let query = parameters.isEmpty ? "" : "?" + Self.formEncode(parameters)
        return try await send(.GET, path + query, body: nil, idempotencyKey: nil)
    }

    /// POST form `parameters` to `path`; `idempotencyKey` makes a retried call safe.
    func post<T: Decodable>(_ path: String, _ parameters: [(String, String)], idempotencyKey: String, as: T.Type = T.self)
        async throws(RailError) -> T
    {
        try await send(.POST, path, body: Self.formEncode(parameters), idempotencyKey: idempotencyKey)
    }

    private func send<T: Decodable>(_ method: HTTPMethod, _ target: String, body: String?, idempotencyKey: String?) async throws(RailError)
        -> T
    {
        var request = HTTPClientRequest(url: baseURL + target)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let status: HTTPResponseStatus
        let bytes: ByteBuffer
        do {
            let response = try await http.execute(request, timeout: timeout)
            status = response.status
            bytes = try await response.body.collect(upTo: 16 << 20)
        } catch {
            throw RailError(.transport, "\(method) \(target): \(error)")
        }
        guard (200..<300).contains(status.code) else {
            let detail = try? JSONDecoder().decode(ProcessorErrorBody.self, from: bytes)
            throw RailError(
                .railAPI,
                "\(method) \(target): \(status.code) \(detail?.error.type ?? "error")/\(detail?.error.code ?? "-"): \(detail?.error.message ?? String(buffer: bytes).prefix(200).description)"
            )
        }
        do {
            return try JSONDecoder().decode(T.self, from: bytes)
        } catch {
            throw RailError(.railAPI, "\(method) \(target): unexpected answer: \(error)")
        }
    }

    static func formEncode(_ parameters: [(String, String)]) -> String {
        parameters.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~[]")

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
