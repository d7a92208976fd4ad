import Foundation
import LedgerAPI
import NIOHTTP1
import Testing

/// Every route of API v1 on its happy path, and the created / exists / rejected semantics.
@Suite("Ledger API routes")
struct LedgerRoutesTests {
    @Test func assetsAccountsAndTransfersEndToEnd() async throws {
        try await TestServer.with { s in
            let p = s.prefix
            // Assets: created, exists with the same fields, conflict with other fields, listed.
            let asset = #"{"id": "\#(p)-usd", "code": "USD", "scale": 2, "metadata": {"camelCase": 1}}"#
            try await s.call(.POST, "/v1/assets", key: s.admin, body: asset).expect(201)
            try await s.call(.POST, "/v1/assets", key: s.admin, body: asset).expect(200)
            try await s.call(.POST, "/v1/assets", key: s.admin, body: #"{"id": "\#(p)-usd", "code": "USD", "scale": 6}"#)
                .expectProblem(409, "exists_with_different_fields")
            let assets = try await s.call(.GET, "/v1/assets", key: s.read).expect(200)
            #expect(assets.text.contains(#""id":"\#(p)-usd""#))
            #expect(assets.text.contains(#""camelCase":1"#), "metadata keys pass through unchanged")

            // Accounts.
            let wallet =
                #"{"id": "\#(p):agent", "asset": "\#(p)-usd", "normal_side": "credit", "limit": "debits_must_not_exceed_credits", "external_id": "\#(p)-ext"}"#
            let created = try await s.call(.POST, "/v1/accounts", key: s.write, body: wallet).expect(201)
            #expect(created["created_at"] != nil)
            try await s.call(.POST, "/v1/accounts", key: s.write, body: wallet).expect(200)
            try await s.call(
                .POST, "/v1/accounts", key: s.write, body: #"{"id": "\#(p):world", "asset": "\#(p)-usd", "normal_side": "debit"}"#
            )
            .expect(201)
            try await s.call(
                .POST, "/v1/accounts", key: s.write, body: #"{"id": "\#(p):x", "asset": "\#(p)-nope", "normal_side": "debit"}"#
            )
            .expectProblem(422, "asset_not_found")
            let account = try await s.call(.GET, "/v1/accounts/\(p):agent", key: s.read).expect(200)
            #expect(account["limit"] == "debits_must_not_exceed_credits")
            #expect(account["external_id"] == "\(p)-ext")
            try await s.call(.GET, "/v1/accounts/\(p):ghost", key: s.read).expectProblem(404, "not_found")

            // One transfer: created, then exists on retry, then a different body under the same id.
            let fund = s.transfer("fund", "world", "agent", "1000")
            let first = try await s.call(.POST, "/v1/transfers", key: s.write, body: fund).expect(201)
            #expect(first["status"] == "created")
            let again = try await s.call(.POST, "/v1/transfers", key: s.write, body: fund).expect(200)
            #expect(again["status"] == "exists")
            #expect(again["sequence"] == first["sequence"])
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("fund", "world", "agent", "999"))
                .expectProblem(409, "exists_with_different_fields")
            // An overdraft is rejected and writes nothing.
            let over = try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("over", "agent", "world", "1001"))
                .expectProblem(422, "exceeds_credits")
            #expect(over["transfer_id"] == "\(p):over")
            try await s.call(.GET, "/v1/transfers/\(p):over", key: s.read).expectProblem(404, "not_found")

            // Holds: post part of one, void another, reverse a posted transfer.
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("h1", "agent", "world", "300", type: "hold")).expect(
                201)
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("h2", "agent", "world", "200", type: "hold")).expect(
                201)
            let posted = try await s.call(.POST, "/v1/transfers/\(p):h1/post", key: s.write, body: #"{"amount": "120"}"#).expect(201)
            #expect(posted["id"] == "\(p):h1:post")
            try await s.call(.POST, "/v1/transfers/\(p):h1/post", key: s.write, body: #"{"amount": "120"}"#).expect(200)
            try await s.call(.POST, "/v1/transfers/\(p):h1/void", key: s.write).expectProblem(409, "pending_transfer_already_posted")
            try await s.call(.POST, "/v1/transfers/\(p):h2/void", key: s.write, body: #"{"id": "\#(p):v2"}"#).expect(201)
            try await s.call(.POST, "/v1/transfers/\(p):ghost/void", key: s.write).expectProblem(404, "not_found")
            try await s.call(.POST, "/v1/transfers/\(p):fund/reverse", key: s.write).expectProblem(422, "exceeds_credits")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("gift", "world", "agent", "50")).expect(201)
            try await s.call(.POST, "/v1/transfers/\(p):gift/reverse", key: s.write).expect(201)
            try await s.call(.POST, "/v1/transfers/\(p):gift/reverse", key: s.write, body: #"{"id": "\#(p):gift:again"}"#)
                .expectProblem(409, "transfer_already_reversed")

            let hold = try await s.call(.GET, "/v1/transfers/\(p):h1", key: s.read).expect(200)
            #expect(hold["kind"] == "pending")
            #expect(hold["hold_state"] == "posted")

            // Balance: 1000 funded, 120 posted out of the hold; nothing pending.
            let balance = try await s.call(.GET, "/v1/accounts/\(p):agent/balance", key: s.read).expect(200)
            #expect(balance["posted"] == "880")
            #expect(balance["available"] == "880")
            #expect(balance["debits_pending"] == "0")

            // Entries, newest first, two per page, following the cursor to the end.
            var cursor: String?
            var versions: [String] = []
            repeat {
                let query = "limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await s.call(.GET, "/v1/accounts/\(p):agent/entries?\(query)", key: s.read).expect(200)
                let items = page.json["items"] as? [[String: Any]] ?? []
                versions += items.map { "\($0["version"]!)" }
                cursor = page.json["next_cursor"] as? String
            } while cursor != nil
            #expect(versions == ["8", "7", "6", "5", "4", "3", "2", "1"], "\(versions)")
        }
    }

    @Test func balanceAsOfAPastEffectiveTime() async throws {
        try await TestServer.with { s in
            try await s.books("world", "shop")
            let p = s.prefix
            for (id, day, amount) in [("d1", "2026-01-01", "10"), ("d2", "2026-02-01", "20"), ("d3", "2026-03-01", "40")] {
                let body =
                    #"{"id": "\#(p):\#(id)", "effective_at": "\#(day)T12:00:00Z", "postings": [{"direction": "debit", "account": "\#(p):world", "amount": "\#(amount)"}, {"direction": "credit", "account": "\#(p):shop", "amount": "\#(amount)"}]}"#
                try await s.call(.POST, "/v1/transfers", key: s.write, body: body).expect(201)
            }
            let feb = try await s.call(.GET, "/v1/accounts/\(p):shop/balance?at=2026-02-15T00:00:00Z", key: s.read).expect(200)
            #expect(feb["posted"] == "30")
            #expect(feb["as_of"] == "2026-02-15T00:00:00.000000Z")
            let offset = try await s.call(.GET, "/v1/accounts/\(p):shop/balance?at=2026-02-01T13:00:00%2B01:00", key: s.read).expect(200)
            #expect(offset["posted"] == "30", "12:00Z is 13:00+01:00: the transfer of that instant counts")
            let now = try await s.call(.GET, "/v1/accounts/\(p):shop/balance", key: s.read).expect(200)
            #expect(now["posted"] == "70")
        }
    }

    @Test func batchWithOneResultPerItemAndAtomic() async throws {
        try await TestServer.with { s in
            try await s.books("world", "agent!", "shop")
            let items = [
                s.transfer("b1", "world", "agent", "100"), s.transfer("b2", "agent", "shop", "60"), s.transfer("b3", "agent", "shop", "60"),
            ]
            let reply = try await s.call(
                .POST, "/v1/transfers/batch", key: s.write, body: #"{"transfers": [\#(items.joined(separator: ","))]}"#
            )
            .expect(200)
            let results = reply.json["results"] as? [[String: Any]] ?? []
            #expect(results.map { $0["status"] as? String } == ["created", "created", "rejected"])
            #expect(results.last?["code"] as? String == "exceeds_credits")

            let atomic = [s.transfer("a1", "world", "agent", "5"), s.transfer("a2", "agent", "shop", "1000")]
            let refused = try await s.call(
                .POST, "/v1/transfers/batch", key: s.write, body: #"{"atomic": true, "transfers": [\#(atomic.joined(separator: ","))]}"#
            ).expect(200)
            let codes = (refused.json["results"] as? [[String: Any]] ?? []).map { $0["code"] as? String }
            #expect(codes == ["atomic_batch_failed", "exceeds_credits"])
            try await s.call(.GET, "/v1/transfers/\(s.prefix):a1", key: s.read).expectProblem(404, "not_found")
        }
    }

    @Test func serviceRoutesAndRequestIDs() async throws {
        try await TestServer.with { s in
            try await s.call(.GET, "/healthz").expect(200)
            let ready = try await s.call(.GET, "/readyz").expect(200)
            #expect(ready["status"] == "ready")
            let echoed = try await s.call(.GET, "/healthz", headers: [("X-Request-Id", "client-abc.1")])
            #expect(echoed.headers.first(name: "X-Request-Id") == "client-abc.1")
            let insane = try await s.call(.GET, "/healthz", headers: [("X-Request-Id", "bad id with spaces")])
            let made = insane.headers.first(name: "X-Request-Id") ?? ""
            #expect(made.count == 16 && made != "bad id with spaces")
            let problem = try await s.call(.GET, "/v1/accounts/x", headers: [("X-Request-Id", "r-42")]).expectProblem(401, "unauthorized")
            #expect(problem["request_id"] == "r-42")
            try await s.call(.GET, "/nowhere").expectProblem(404, "not_found")

            try await s.books("world", "shop")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("m1", "world", "shop", "1")).expect(201)
            let metrics = try await s.call(.GET, "/metrics").expect(200)
            #expect(metrics.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
            for name in [
                #"settle_http_requests_total{route="/v1/transfers",method="POST",status="201"}"#,
                "settle_http_request_duration_seconds_bucket",
                "settle_commit_batch_size_bucket", "settle_commit_duration_seconds_bucket", "settle_db_pool_max_connections",
            ] {
                #expect(metrics.text.contains(name), "\(name) missing from /metrics")
            }
        }
    }
}

extension LedgerRoutesTests {
    @Test func aSubtreesBalancesRollUpPerAsset() async throws {
        try await TestServer.with { s in
            try await s.books("world", "shop", "shop2")
            let p = s.prefix
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("r1", "world", "shop", "300")).expect(201)
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("r2", "world", "shop2", "200")).expect(201)
            let rollUp = try await s.call(.GET, "/v1/balances?prefix=\(p):shop", key: s.read).expect(200)
            #expect(rollUp.json["prefix"] as? String == "\(p):shop")
            let items = try #require(rollUp.json["items"] as? [[String: Any]])
            #expect(items.count == 1)
            #expect(items.first?["accounts"] as? Int == 2 && items.first?["credits_posted"] as? String == "500")
            #expect(items.first?["asset"] as? String == "\(p)-usd")
            let past = try await s.call(.GET, "/v1/balances?prefix=\(p):shop&at=2000-01-01T00:00:00Z", key: s.read).expect(200)
            #expect((past.json["items"] as? [[String: Any]])?.first?["credits_posted"] as? String == "0")
            try await s.call(.GET, "/v1/balances", key: s.read).expectProblem(400, "invalid_query")
            try await s.call(.GET, "/v1/balances?prefix=%00", key: s.read).expectProblem(400, "malformed_id")
            try await s.call(.GET, "/v1/balances?prefix=\(p):shop&at=yesterday", key: s.read).expectProblem(400, "invalid_query")
            try await s.call(.GET, "/v1/balances?prefix=\(p):shop").expectProblem(401, "unauthorized")
        }
    }
}
