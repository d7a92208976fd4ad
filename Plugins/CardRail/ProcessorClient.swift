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

    /// POST form `parameters` to `path`, telling a definite refusal (a 4xx with the error envelope,
    /// after which nothing moved) apart from an answer; anything else that fails throws.
    func postAnswer<T: Decodable>(_ path: String, _ parameters: [(String, String)], idempotencyKey: String, as: T.Type = T.self)
        async throws(RailError) -> ProcessorAnswer<T>
    {
        try await answer(.POST, path, body: Self.formEncode(parameters), idempotencyKey: idempotencyKey)
    }

    /// GET `path`, telling a definite refusal (such as 404) apart from an answer.
    func getAnswer<T: Decodable>(_ path: String, as: T.Type = T.self) async throws(RailError) -> ProcessorAnswer<T> {
        try await answer(.GET, path, body: nil, idempotencyKey: nil)
    }

    private func send<T: Decodable>(_ method: HTTPMethod, _ target: String, body: String?, idempotencyKey: String?) async throws(RailError)
        -> T
    {
        switch try await answer(method, target, body: body, idempotencyKey: idempotencyKey, as: T.self) {
        case .answered(let value): return value
        case .refused(let refusal): throw RailError(.railAPI, "\(method) \(target): \(refusal)")
        }
    }

    private func answer<T: Decodable>(
        _ method: HTTPMethod, _ target: String, body: String?, idempotencyKey: String?, as: T.Type = T.self
    ) async throws(RailError) -> ProcessorAnswer<T> {
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
            // 409 (a concurrent request with the same key) and 429 are retried by the processor's
            // own clients: the outcome is not known yet. So is a 5xx.
            if let detail, (400..<500).contains(status.code), status.code != 409, status.code != 429 {
                return .refused(
                    ProcessorRefusal(
                        status: Int(status.code), type: detail.error.type, code: detail.error.code, declineCode: detail.error.declineCode,
                        message: detail.error.message))
            }
            throw RailError(
                .railAPI,
                "\(method) \(target): \(status.code) \(detail?.error.type ?? "error")/\(detail?.error.code ?? "-"): \(detail?.error.message ?? String(buffer: bytes).prefix(200).description)"
            )
        }
        do {
            return .answered(try JSONDecoder().decode(T.self, from: bytes))
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

/// What the processor answered a call that it may refuse.
enum ProcessorAnswer<T> {
    case answered(T)
    case refused(ProcessorRefusal)
}

extension ProcessorAnswer: Sendable where T: Sendable {}
