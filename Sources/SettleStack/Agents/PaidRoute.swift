import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// One answer of the paid route.
public struct PaidRouteAnswer: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: String
}

/// The HTTP calls agents make: a plain GET for the 402 and its offers, then the GET with the payment.
enum PaidRoute {
    static func get(_ url: String, headers: [(String, String)] = []) async throws -> PaidRouteAnswer {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        return PaidRouteAnswer(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }

    /// The 402's offers, or an error when the route did not ask for payment.
    static func challenge(_ url: String) async throws -> PaidRouteAnswer {
        let answer = try await get(url)
        guard answer.status == 402 else { throw StackError(.noOffer, "\(url) answered \(answer.status), not 402") }
        return answer
    }

    /// The paid answer (`expected`: 200 for content, 204 for an MPP management action), or an
    /// error saying what the route answered instead.
    static func paid(_ url: String, headers: [(String, String)], scheme: String, expected: Int = 200) async throws -> PaidRouteAnswer {
        let answer = try await get(url, headers: headers)
        guard answer.status == expected else { throw StackError(.refused, "\(scheme): \(answer.status) \(answer.body.prefix(300))") }
        return answer
    }
}
