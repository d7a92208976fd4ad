import Foundation
import LedgerAPI
import NIOHTTP1
import Testing

/// Conditional and balancing transfers over HTTP (decision 0030): the fields, the amount in the
/// answer, and the problems a mismatch or an empty account gives.
@Suite("Conditional and balancing transfers over HTTP")
struct ConditionalTransferRoutesTests {
    @Test func conditionsAndBalancingThroughTheAPI() async throws {
        try await TestServer.with { s in
            let p = s.prefix
            try await s.books("world", "agent!", "merchant")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("fund", "world", "agent", "1000")).expect(201)
            let balance = try await s.call(.GET, "/v1/accounts/\(p):agent/balance", key: s.read).expect(200)
            #expect(balance["version"] == "1")

            func pay(_ id: String, _ condition: String) -> String {
                #"{"id": "\#(p):\#(id)", "postings": [{"direction": "debit", "account": "\#(p):agent", "amount": "100"}, {"direction": "credit", "account": "\#(p):merchant", "amount": "100"}], "conditions": [\#(condition)]}"#
            }
            let first = pay("pay1", #"{"account": "\#(p):agent", "version": 1, "available": "1000"}"#)
            try await s.call(.POST, "/v1/transfers", key: s.write, body: first).expect(201)
            // The retry is answered as recorded; the same read used again is a conflict.
            try await s.call(.POST, "/v1/transfers", key: s.write, body: first).expect(200)
            let stale = try await s.call(
                .POST, "/v1/transfers", key: s.write, body: pay("pay2", #"{"account": "\#(p):agent", "version": 1}"#)
            )
            .expectProblem(409, "version_mismatch")
            #expect(stale["transfer_id"] == "\(p):pay2")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: pay("pay3", #"{"account": "\#(p):agent", "available": "5"}"#))
                .expectProblem(409, "balance_mismatch")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: pay("pay4", #"{"account": "\#(p):world", "version": 1}"#))
                .expectProblem(422, "invalid_condition")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: pay("pay5", #"{"account": "\#(p):agent", "versoin": 1}"#))
                .expect(400)

            // Balancing: up to an amount, then everything; the answer says how much moved.
            let upTo = #"{"id": "\#(p):sweep1", "type": "balancing", "from": "\#(p):agent", "to": "\#(p):merchant", "up_to": "250"}"#
            let swept = try await s.call(.POST, "/v1/transfers", key: s.write, body: upTo).expect(201)
            #expect(swept["amount"] == "250")
            let again = try await s.call(.POST, "/v1/transfers", key: s.write, body: upTo).expect(200)
            #expect(again["amount"] == "250" && again["sequence"] == swept["sequence"])
            let all = #"{"id": "\#(p):sweep2", "type": "balancing", "from": "\#(p):agent", "to": "\#(p):merchant"}"#
            #expect(try await s.call(.POST, "/v1/transfers", key: s.write, body: all).expect(201)["amount"] == "650")
            let stored = try await s.call(.GET, "/v1/transfers/\(p):sweep2", key: s.read).expect(200)
            #expect(stored.text.contains(#""amount":"650""#))
            let empty = #"{"id": "\#(p):sweep3", "type": "balancing", "from": "\#(p):agent", "to": "\#(p):merchant"}"#
            try await s.call(.POST, "/v1/transfers", key: s.write, body: empty).expectProblem(422, "nothing_available")
            try await s.call(
                .POST, "/v1/transfers", key: s.write,
                body: #"{"id": "\#(p):sweep4", "type": "balancing", "from": "\#(p):agent", "to": "\#(p):merchant", "postings": []}"#
            ).expect(400)

            // In a batch: a result per transfer, with the amount and the codes.
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("refund", "merchant", "agent", "40")).expect(201)
            let batch =
                #"{"transfers": [\#(all.replacingOccurrences(of: "sweep2", with: "sweep5")), \#(pay("pay6", #"{"account": "\#(p):agent", "version": 1}"#))]}"#
            let results = try await s.call(.POST, "/v1/transfers/batch", key: s.write, body: batch).expect(200)
            let items = results.json["results"] as? [[String: Any]] ?? []
            #expect(items.count == 2)
            #expect(items.first?["status"] as? String == "created" && items.first?["amount"] as? String == "40")
            #expect(items.last?["code"] as? String == "version_mismatch")
        }
    }
    /// Decision 0043: a balancing hold (`pending: true`), the destination's limit clamping, and
    /// bounds on the available balance.
    @Test func balancingHoldsDestinationLimitsAndBoundsThroughTheAPI() async throws {
        try await TestServer.with { s in
            let p = s.prefix
            try await s.books("world", "agent!", "merchant")
            try await s.call(
                .POST, "/v1/accounts", key: s.admin,
                body: #"{"id": "\#(p):cap", "asset": "\#(p)-usd", "normal_side": "credit", "limit": "credits_must_not_exceed_debits"}"#
            ).expect(201)
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("fund", "world", "agent", "1000")).expect(201)
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("allow", "cap", "world", "300")).expect(201)

            let hold =
                #"{"id": "\#(p):h1", "type": "balancing", "from": "\#(p):agent", "to": "\#(p):merchant", "up_to": "400", "pending": true, "timeout": 600}"#
            let held = try await s.call(.POST, "/v1/transfers", key: s.write, body: hold).expect(201)
            #expect(held["amount"] == "400")
            #expect(try await s.call(.POST, "/v1/transfers", key: s.write, body: hold).expect(200)["amount"] == "400")
            try await s.call(.POST, "/v1/transfers/\(p):h1/post", key: s.write, body: #"{"amount": "150"}"#).expect(201)
            let balance = try await s.call(.GET, "/v1/accounts/\(p):agent/balance", key: s.read).expect(200)
            #expect(balance["available"] == "850")
            try await s.call(
                .POST, "/v1/transfers", key: s.write,
                body: #"{"id": "\#(p):h2", "type": "balancing", "from": "\#(p):agent", "to": "\#(p):merchant", "timeout": 600}"#
            ).expect(400)

            // Clamped to the cap's room, then no room left.
            let sweep = #"{"id": "\#(p):c1", "type": "balancing", "from": "\#(p):agent", "to": "\#(p):cap"}"#
            #expect(try await s.call(.POST, "/v1/transfers", key: s.write, body: sweep).expect(201)["amount"] == "300")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: sweep.replacingOccurrences(of: ":c1", with: ":c2"))
                .expectProblem(422, "destination_full")

            func pay(_ id: String, _ condition: String) -> String {
                #"{"id": "\#(p):\#(id)", "postings": [{"direction": "debit", "account": "\#(p):agent", "amount": "10"}, {"direction": "credit", "account": "\#(p):merchant", "amount": "10"}], "conditions": [\#(condition)]}"#
            }
            try await s.call(.POST, "/v1/transfers", key: s.write, body: pay("b1", #"{"account": "\#(p):agent", "available_gte": "600"}"#))
                .expectProblem(409, "balance_mismatch")
            try await s.call(
                .POST, "/v1/transfers", key: s.write,
                body: pay("b2", #"{"account": "\#(p):agent", "available_gte": "500", "available_lte": "550"}"#)
            ).expect(201)
            try await s.call(
                .POST, "/v1/transfers", key: s.write,
                body: pay("b3", #"{"account": "\#(p):agent", "available_gte": "9", "available_lte": "1"}"#)
            ).expectProblem(422, "invalid_condition")
        }
    }
}
