import CardMock
import Foundation
import NIOHTTP1
import Testing

@Suite struct WebhookTests {
    /// Parses `t=…,v1=…`.
    static func parse(_ header: String) -> (t: Int64, v1: String)? {
        var t: Int64?
        var v1: String?
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { t = Int64(pair[1]) }
            if pair[0] == "v1" { v1 = pair[1] }
        }
        guard let t, let v1 else { return nil }
        return (t, v1)
    }

    @Test func retriesWithBackoffAndAFreshSignatureEveryAttempt() async throws {
        let receiver = WebhookReceiver(failures: 2)
        try await receiver.start()
        // Retries more than a second apart, so each attempt's `t` must differ.
        try await MockServer.with({ $0.webhookRetryBase = .milliseconds(1_100) }) { client in
            let endpoint = try await client.post(
                "/v1/webhook_endpoints", ["url": receiver.url, "enabled_events[0]": "payment_intent.succeeded"])
            let secret = try #require(endpoint["secret"]?.string)
            #expect(secret.hasPrefix("whsec_"))
            #expect(try await client.get("/v1/webhook_endpoints/\(endpoint.id)")["secret"] == nil)
            let pi = try await client.payment(2_000)
            let delivered = try await eventually {
                try await client.get("/_mock/deliveries", ["status": "delivered"])["data"]?.count == 1
            }
            #expect(delivered)
            let hits = receiver.received
            #expect(hits.count == 3)
            #expect(hits.map(\.status) == [500, 500, 200])
            let signatures = hits.compactMap { Self.parse($0.signature) }
            #expect(signatures.count == 3)
            for (hit, signature) in zip(hits, signatures) {
                #expect(signature.v1 == WebhookSignature.signature(secret: secret, timestamp: signature.t, body: hit.body))
            }
            #expect(signatures[0].t < signatures[1].t && signatures[1].t < signatures[2].t)
            #expect(Set(signatures.map(\.v1)).count == 3)
            #expect(Set(hits.map(\.body)).count == 1)
            let event = try JSONDecoder().decode(JSON.self, from: hits[0].body)
            #expect(event["type"] == "payment_intent.succeeded")
            #expect(event[path: "data.object.id"] == .string(pi.id))
            #expect(event["pending_webhooks"] == 1)
            let delivery = try await client.get("/_mock/deliveries")
            let attempts = delivery.json[path: "data.0.attempts"]?.array ?? []
            #expect(attempts.count == 3)
            // Exponential backoff: the second wait is about twice the first.
            let at = attempts.compactMap { $0["at_ms"]?.int }
            #expect(at.count == 3 && at[1] - at[0] >= 1_100 && at[2] - at[1] >= 2_200)
        }
        try await receiver.stop()
    }

    @Test func deliveriesGiveUpAfterTheAttemptLimitAndOnlyMatchingTypesAreSent() async throws {
        let receiver = WebhookReceiver(failures: 1_000)
        try await receiver.start()
        try await MockServer.with({
            $0.webhookRetryBase = .milliseconds(5)
            $0.webhookMaxAttempts = 3
        }) { client in
            _ = try await client.post("/v1/webhook_endpoints", ["url": receiver.url, "enabled_events[]": "charge.*"])
            _ = try await client.payment(2_000)
            let failed = try await eventually {
                try await client.get("/_mock/deliveries", ["status": "failed"])["data"]?.count == 1
            }
            #expect(failed)
            #expect(receiver.received.count == 3)
            let body = try JSONDecoder().decode(JSON.self, from: receiver.received[0].body)
            #expect(body["type"] == "charge.succeeded")
            let deleted = try await client.delete(
                "/v1/webhook_endpoints/\((try await client.get("/v1/webhook_endpoints")).json[path: "data.0.id"]?.string ?? "")")
            #expect(deleted["deleted"] == true)
        }
        try await receiver.stop()
    }

    @Test func eventsAreListableByTypeAndCarryTheRequest() async throws {
        try await MockServer.with { client in
            let pi = try await client.post(
                "/v1/payment_intents",
                [
                    "amount": "2000", "currency": "usd", "payment_method": "pm_card_visa", "payment_method_types[0]": "card",
                    "confirm": "true",
                ],
                idempotencyKey: "evt-key")
            let events = try await client.get("/v1/events", ["type": "payment_intent.*"])
            #expect(events["data"]?.array?.compactMap { $0["type"]?.string } == ["payment_intent.succeeded", "payment_intent.created"])
            let event = try #require(events["data"]?.array?.first)
            #expect(event[path: "request.idempotency_key"] == "evt-key")
            #expect(event[path: "request.id"]?.string == pi.headers["request-id"])
            #expect(event[path: "data.object.id"] == .string(pi.id))
            let one = try await client.get("/v1/events/\(event["id"]?.string ?? "")")
            #expect(one["id"] == event["id"])
            let versioned = try await client.send(
                .POST, "/v1/payment_intents", body: "amount=100&currency=usd", headers: [("Stripe-Version", "2099-01-01.test")])
            #expect(versioned.status == 200)
            let created = try await client.get("/v1/events", ["type": "payment_intent.created", "limit": "1"])
            #expect(created.json[path: "data.0.api_version"] == "2099-01-01.test")
        }
    }
}
