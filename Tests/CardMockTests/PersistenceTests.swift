import CardMock
import Foundation
import Testing

@Suite struct PersistenceTests {
    @Test func stateAndPendingDeliveriesSurviveARestart() async throws {
        let directory = temporaryDirectory()
        let receiver = WebhookReceiver(failures: 0)
        try await receiver.start()
        // A receiver that is not up yet: the delivery stays pending across the restart.
        let deadURL = receiver.url.replacingOccurrences(of: "/hook", with: "/nothing-here")
        var server = try await MockServer.start(directory: directory) { $0.webhookRetryBase = .seconds(3_600) }
        var client = server.client
        let endpoint = try await client.post("/v1/webhook_endpoints", ["url": deadURL, "enabled_events[0]": "*"])
        let pi = try await client.payment(2_000, capture: "manual")
        let refund = try await client.post("/v1/payment_intents/\(pi.id)/capture", ["amount_to_capture": "1500"])
        try await client.advance(seconds: 3 * 86_400)
        let original = try await client.post("/v1/payment_intents", ["amount": "100", "currency": "usd"], idempotencyKey: "persisted")
        let before = try await client.get("/v1/balance_transactions", ["limit": "100"])
        let clockBefore = try await client.get("/_mock/clock")
        let pendingBefore = try await client.get("/_mock/deliveries", ["status": "pending", "limit": "100"])
        #expect(pendingBefore["data"]?.count ?? 0 > 3)
        try await server.stop()

        server = try await MockServer.start(directory: directory) { $0.webhookRetryBase = .milliseconds(10) }
        client = server.client
        #expect(try await client.get("/v1/payment_intents/\(pi.id)").json == refund.json)
        #expect(try await client.get("/v1/balance_transactions", ["limit": "100"]).json == before.json)
        let clockAfter = try await client.get("/_mock/clock")
        #expect(clockAfter["offset"] == clockBefore["offset"])
        let replay = try await client.post("/v1/payment_intents", ["amount": "100", "currency": "usd"], idempotencyKey: "persisted")
        #expect(replay.headers["idempotent-replayed"] == "true")
        #expect(replay.json == original.json)
        // The endpoint now points to a live receiver: the deliveries queued before the restart arrive.
        _ = try await client.post("/v1/webhook_endpoints/\(endpoint.id)", ["url": receiver.url])
        let drained = try await eventually {
            try await client.get("/_mock/deliveries", ["status": "pending"])["data"]?.count == 0
        }
        #expect(drained)
        let events = Set(receiver.received.compactMap { try? JSONDecoder().decode(JSON.self, from: $0.body)["id"]?.string })
        let pendingIDs = Set(pendingBefore["data"]?.array?.compactMap { $0["event"]?.string } ?? [])
        #expect(pendingIDs.isSubset(of: events))
        try await server.stop()
        try await receiver.stop()
    }

    @Test func aDataDirectoryServesOneMockAtATime() async throws {
        let directory = temporaryDirectory()
        let server = try await MockServer.start(directory: directory)
        do {
            _ = try await MockServer.start(directory: directory)
            Issue.record("a second mock opened a locked data directory")
        } catch let error as CardMockError {
            #expect(error.code == .dataDirectoryLocked)
        }
        try await server.stop()
        let again = try await MockServer.start(directory: directory)
        try await again.stop()
    }

    @Test func aTornLastLineIsDroppedAndOtherCorruptionStopsTheStart() async throws {
        let directory = temporaryDirectory()
        let server = try await MockServer.start(directory: directory)
        let pi = try await server.client.post("/v1/payment_intents", ["amount": "100", "currency": "usd"])
        try await server.stop()
        let path = directory + "/journal.jsonl"
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("[{\"paymentIntent\":{\"_0\":{\"id\":\"pi_torn".utf8))
        try handle.close()
        let restarted = try await MockServer.start(directory: directory)
        #expect(try await restarted.client.get("/v1/payment_intents/\(pi.id)").status == 200)
        try await restarted.stop()

        let lines = try String(contentsOfFile: path, encoding: .utf8)
        try ("garbage\n" + lines).write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try await MockServer.start(directory: directory)
            Issue.record("a corrupt journal was accepted")
        } catch let error as CardMockError {
            #expect(error.code == .corruptJournal)
        }
    }
}
