import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Calls to the card processor mock's Stripe-shaped API: what a buyer's wallet does (mint a shared
/// payment token) and what the demo does to the processor behind the ledger's back (a refund, a
/// payout).
public struct CardProcessorClient: Sendable {
    public var baseURL: String
    public var apiKey: String

    public init(baseURL: String, apiKey: String) {
        self.baseURL = baseURL
        self.apiKey = apiKey
    }

    /// POSTs a form; the answer's scalar fields.
    /// - Throws: ``StackError`` with code `processor` on a non-2xx answer.
    @discardableResult
    public func post(_ path: String, _ parameters: [String: String] = [:]) async throws -> [String: String] {
        Self.scalars(try await send(form(path, parameters)))
    }

    /// POSTs a form whose answer is a list (the mock's payout run); each item's scalar fields.
    public func postList(_ path: String, _ parameters: [String: String] = [:]) async throws -> [[String: String]] {
        let list = try await send(form(path, parameters))["data"] as? [[String: Any]] ?? []
        return list.map(Self.scalars)
    }

    /// GETs a resource; the answer's scalar fields.
    public func get(_ path: String) async throws -> [String: String] {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        return Self.scalars(try await send(request))
    }

    private func form(_ path: String, _ parameters: [String: String]) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let form = parameters.sorted { $0.key < $1.key }.map {
            "\($0.key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.value)"
        }
        request.body = .bytes(ByteBuffer(string: form.joined(separator: "&")))
        return request
    }

    private func send(_ request: HTTPClientRequest) async throws -> [String: Any] {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw StackError(.processor, "\(request.method) \(request.url): \(response.status.code) \(String(buffer: body))")
        }
        return try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] ?? [:]
    }

    /// The scalar fields are all the demo reads (ids, statuses, amounts).
    private static func scalars(_ object: [String: Any]) -> [String: String] {
        object.compactMapValues { value in
            switch value {
            case let text as String: text
            case let number as NSNumber: number.stringValue
            default: nil
            }
        }
    }
}
