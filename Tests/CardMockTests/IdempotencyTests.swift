import CardMock
import Foundation
import Testing

@Suite struct IdempotencyTests {
    static let form: KeyValuePairs<String, String> = [
        "amount": "2000", "currency": "usd", "payment_method": "pm_card_visa", "payment_method_types[0]": "card", "confirm": "true",
    ]

    @Test func sameKeyAndParametersReplayTheFirstAnswer() async throws {
        try await MockServer.with { client in
            let first = try await client.post("/v1/payment_intents", Self.form, idempotencyKey: "order-1")
            let second = try await client.post("/v1/payment_intents", Self.form, idempotencyKey: "order-1")
            #expect(first.status == 200)
            #expect(second.json == first.json)
            #expect(second.headers["idempotent-replayed"] == "true")
            #expect(first.headers["idempotent-replayed"] == nil)
            #expect(second.headers["idempotency-key"] == "order-1")
            #expect(try await client.get("/v1/payment_intents")["data"]?.count == 1)
            // Parameter order on the wire does not matter.
            let reordered = try await client.post(
                "/v1/payment_intents",
                pairs: [
                    ("confirm", "true"), ("payment_method_types[0]", "card"), ("currency", "usd"), ("payment_method", "pm_card_visa"),
                    ("amount", "2000"),
                ],
                idempotencyKey: "order-1")
            #expect(reordered.id == first.id)
        }
    }

    @Test func otherParametersOrEndpointsAreIdempotencyErrors() async throws {
        try await MockServer.with { client in
            _ = try await client.post("/v1/payment_intents", Self.form, idempotencyKey: "k")
            let changed = try await client.post(
                "/v1/payment_intents", ["amount": "2001", "currency": "usd", "payment_method": "pm_card_visa"], idempotencyKey: "k")
            #expect(changed.status == 400)
            #expect(changed.error?["type"] == "idempotency_error")
            let elsewhere = try await client.post("/v1/payouts", ["amount": "100", "currency": "usd"], idempotencyKey: "k")
            #expect(elsewhere.status == 400)
            #expect(elsewhere.error?["type"] == "idempotency_error")
            // Another API key has its own key space.
            var other = client
            other.key = "sk_test_other"
            #expect(
                try await other.post("/v1/payouts", ["amount": "1", "currency": "usd"], idempotencyKey: "k").error?["code"]
                    == "balance_insufficient")
        }
    }

    @Test func declinesAreStoredButValidationFailuresAreNot() async throws {
        try await MockServer.with { client in
            let declined: KeyValuePairs<String, String> = [
                "amount": "2000", "currency": "usd", "payment_method": "pm_card_visa_chargeDeclined", "payment_method_types[0]": "card",
                "confirm": "true",
            ]
            let first = try await client.post("/v1/payment_intents", declined, idempotencyKey: "d")
            let replay = try await client.post("/v1/payment_intents", declined, idempotencyKey: "d")
            #expect(first.status == 402)
            #expect(replay.status == 402)
            #expect(replay.json == first.json)
            #expect(replay.headers["idempotent-replayed"] == "true")

            let invalid = try await client.post("/v1/payment_intents", ["amount": "10", "currency": "usd"], idempotencyKey: "v")
            #expect(invalid.error?["code"] == "amount_too_small")
            let valid = try await client.post("/v1/payment_intents", ["amount": "100", "currency": "usd"], idempotencyKey: "v")
            #expect(valid.status == 200)
        }
    }

    @Test func keysExpireAfter24HoursOfMockTime() async throws {
        try await MockServer.with { client in
            let first = try await client.post("/v1/payment_intents", ["amount": "100", "currency": "usd"], idempotencyKey: "old")
            try await client.advance(seconds: 86_401)
            let reused = try await client.post("/v1/payment_intents", ["amount": "200", "currency": "usd"], idempotencyKey: "old")
            #expect(reused.status == 200)
            #expect(reused.id != first.id)
        }
    }

    @Test func concurrentRequestsWithOneKeyCreateOneObject() async throws {
        try await MockServer.with(directory: temporaryDirectory()) { client in
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 0..<20 { group.addTask { try await client.post("/v1/payment_intents", Self.form, idempotencyKey: "race") } }
                return try await group.reduce(into: [Reply]()) { $0.append($1) }
            }
            let ok = replies.filter { $0.status == 200 }
            let odd = replies.filter { $0.status != 200 && $0.status != 409 }.map(\.status)
            #expect(odd.isEmpty, "\(odd)")
            #expect(Set(ok.map(\.id)).count == 1)
            #expect(replies.filter { $0.status == 409 }.allSatisfy { $0.error?["type"] == "idempotency_error" })
            #expect(try await client.get("/v1/payment_intents")["data"]?.count == 1)
        }
    }
}

@Suite struct PaginationTests {
    @Test func listsPageNewestFirstWithCursors() async throws {
        try await MockServer.with { client in
            var ids: [String] = []
            for amount in 0..<15 {
                ids.append(try await client.post("/v1/payment_intents", ["amount": String(100 + amount), "currency": "usd"]).id)
            }
            let newestFirst = Array(ids.reversed())
            let page1 = try await client.get("/v1/payment_intents", ["limit": "10"])
            #expect(page1["object"] == "list")
            #expect(page1["url"] == "/v1/payment_intents")
            #expect(page1["has_more"] == true)
            #expect(page1["data"]?.array?.compactMap { $0["id"]?.string } == Array(newestFirst[0..<10]))
            let page2 = try await client.get("/v1/payment_intents", ["limit": "10", "starting_after": newestFirst[9]])
            #expect(page2["has_more"] == false)
            #expect(page2["data"]?.array?.compactMap { $0["id"]?.string } == Array(newestFirst[10...]))
            let back = try await client.get("/v1/payment_intents", ["limit": "3", "ending_before": newestFirst[10]])
            #expect(back["data"]?.array?.compactMap { $0["id"]?.string } == Array(newestFirst[7..<10]))
            #expect(back["has_more"] == true)
            let defaultLimit = try await client.get("/v1/payment_intents")
            #expect(defaultLimit["data"]?.count == 10)
            #expect(try await client.get("/v1/payment_intents", ["limit": "0"]).status == 400)
            #expect(try await client.get("/v1/payment_intents", ["limit": "101"]).status == 400)
            #expect(try await client.get("/v1/payment_intents", ["starting_after": "pi_missing"]).status == 404)
        }
    }

    @Test func createdRangesAndExpandInsideLists() async throws {
        try await MockServer.with { client in
            _ = try await client.payment(1_000)
            let clock = try await client.get("/_mock/clock")
            try await client.advance(seconds: 1_000)
            _ = try await client.payment(2_000)
            let cut = (clock["now"]?.int ?? 0) + 500
            let later = try await client.get("/v1/charges", ["created[gte]": String(cut)])
            #expect(later["data"]?.count == 1)
            #expect(later.json[path: "data.0.amount"] == 2_000)
            let earlier = try await client.get("/v1/charges", ["created[lt]": String(cut)])
            #expect(earlier.json[path: "data.0.amount"] == 1_000)
            let expanded = try await client.get("/v1/balance_transactions", ["expand[0]": "data.source"])
            #expect(expanded.json[path: "data.0.source.object"] == "charge")
            #expect(expanded.json[path: "data.1.source.payment_intent"]?.string?.hasPrefix("pi_") == true)
            let tooDeep = try await client.get("/v1/charges", ["expand[0]": "a.b.c.d.e"])
            #expect(tooDeep.status == 400)
        }
    }
}
