import Foundation
import LedgerAPI
import NIOHTTP1
import Synchronization
import Testing

/// What a receiver was given: rail, signature header, body.
final class Deliveries: Sendable {
    let items = Mutex<[(String, String?, String)]>([])
}

@Suite("Rail webhook route")
struct WebhookRouteTests {
    /// A receiver that answers by the rail id, recording what it was given.
    static func receiver(_ seen: Deliveries) -> WebhookReceiver {
        WebhookReceiver { rail, headers, body throws(WebhookReceiver.Failure) in
            seen.items.withLock { $0.append((rail, headers["stripe-signature"], String(decoding: body, as: UTF8.self))) }
            switch rail {
            case "card": return .booked
            case "again": return .duplicate
            case "forged": throw .invalid(code: "invalid_signature", message: "no v1 signature matches the payload")
            case "early": throw .retryLater(code: "out_of_order", message: "its hold is not booked yet")
            case "down": throw .unavailable(code: "rail_transport", message: "the processor is unreachable")
            default: throw .unknownRail(rail)
            }
        }
    }

    @Test func statusesFollowWhatTheRailSays() async throws {
        let seen = Deliveries()
        try await TestServer.with(webhooks: Self.receiver(seen)) { s in
            let body = #"{"id":"evt_1","type":"charge.succeeded"}"#
            // No API key: the rail checks its own signature, on the raw bytes and headers given.
            let booked = try await s.call(.POST, "/v1/rails/card/webhooks", body: body, headers: [("Stripe-Signature", "t=1,v1=ab")])
                .expect(200)
            #expect(booked["status"] == "booked")
            #expect(try await s.call(.POST, "/v1/rails/again/webhooks", body: body).expect(200)["status"] == "duplicate")
            try await s.call(.POST, "/v1/rails/forged/webhooks", body: body).expectProblem(400, "invalid_signature")
            try await s.call(.POST, "/v1/rails/early/webhooks", body: body).expectProblem(409, "out_of_order")
            try await s.call(.POST, "/v1/rails/down/webhooks", body: body).expectProblem(503, "rail_transport")
            try await s.call(.POST, "/v1/rails/nope/webhooks", body: body).expectProblem(404, "not_found")
            let first = try #require(seen.items.withLock { $0.first })
            #expect(first.0 == "card" && first.1 == "t=1,v1=ab" && first.2 == body)
        }
    }

    @Test func withoutRailsTheRouteIsNotFound() async throws {
        try await TestServer.with { s in
            try await s.call(.POST, "/v1/rails/card/webhooks", body: "{}").expectProblem(404, "not_found")
        }
    }
}
