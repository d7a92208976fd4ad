import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A ``Facilitator`` at a URL (`https://x402.org/facilitator`, a CDP endpoint, or another Settle):
/// the same interface as the in-process ``X402Facilitator``.
///
/// Any answer other than HTTP 200 with the expected JSON throws: the resource server then serves
/// nothing, since it cannot know whether the payment settled.
public struct X402FacilitatorClient: Facilitator {
    public var url: String
    public var httpClient: HTTPClient
    public var timeout: Duration
    /// Sent with every request (e.g. `Authorization: Bearer …`).
    public var headers: [String: String]
    public var maxResponseBytes: Int

    public init(
        url: String, httpClient: HTTPClient = .shared, timeout: Duration = .seconds(30), headers: [String: String] = [:],
        maxResponseBytes: Int = 1 << 20
    ) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.httpClient = httpClient
        self.timeout = timeout
        self.headers = headers
        self.maxResponseBytes = maxResponseBytes
    }

    public func verify(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> VerifyResponse {
        try await send(.POST, "/verify", body: FacilitatorRequest(paymentPayload: payload, paymentRequirements: requirements))
    }

    public func settle(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> SettleResponse {
        try await send(.POST, "/settle", body: FacilitatorRequest(paymentPayload: payload, paymentRequirements: requirements))
    }

    public func supported() async throws -> SupportedResponse {
        try await send(.GET, "/supported", body: Optional<FacilitatorRequest>.none)
    }

    private func send<Body: Encodable, Answer: Decodable>(_ method: HTTPMethod, _ path: String, body: Body?) async throws -> Answer {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: X402HeaderCodec.json(body)))
        }
        let response = try await httpClient.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
        let bytes = try await response.body.collect(upTo: maxResponseBytes)
        guard response.status == .ok else {
            throw X402FacilitatorError("facilitator \(path) answered HTTP \(response.status.code)")
        }
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(buffer: bytes))
        } catch {
            throw X402FacilitatorError("facilitator \(path) answered with something other than a \(Answer.self)")
        }
    }
}
