import Foundation
import LedgerAPI
import NIOHTTP1
import Testing

/// Bad input of every kind gets a 4xx problem with a precise code, never a 500, and writes nothing.
@Suite("Request errors")
struct RequestErrorTests {
    @Test func badTransferBodies() async throws {
        try await TestServer.with({ $0.maxBodyBytes = 4_096 }) { s in
            try await s.books("world", "shop")
            let p = s.prefix
            func posting(_ amount: String, id: String = "bad") -> String {
                #"{"id": "\#(p):\#(id)", "postings": [{"direction": "debit", "account": "\#(p):world", "amount": \#(amount)}, {"direction": "credit", "account": "\#(p):shop", "amount": \#(amount)}]}"#
            }
            let cases: [(String, Int, String)] = [
                (#"{"id": "x","#, 400, "malformed_json"),
                ("not json", 400, "malformed_json"),
                ("", 400, "malformed_json"),
                (#"{"id": "\#(p):bad", "postings": [], "colour": "red"}"#, 400, "unknown_field"),
                (
                    #"{"id": "\#(p):bad", "postings": [{"direction": "debit", "account": "\#(p):world", "amount": "1", "memo": "x"}]}"#,
                    400, "unknown_field"
                ),
                (posting(#""-5""#), 400, "invalid_request"),
                (posting(#""1.5""#), 400, "invalid_request"),
                (posting("5"), 400, "invalid_request"),
                (posting(#""1e3""#), 400, "invalid_request"),
                (posting("\"" + String(repeating: "9", count: 80) + "\""), 400, "invalid_request"),
                (posting(#""0""#), 400, "amount_must_be_positive"),
                (#"{"id": "\#(p):bad", "effective_at": "yesterday", "postings": []}"#, 400, "invalid_request"),
                (#"{"id": "\#(p):bad", "effective_at": "2026-13-01T00:00:00Z", "postings": []}"#, 400, "invalid_request"),
                (#"{"id": " bad", "postings": []}"#, 400, "invalid_request"),
                (#"{"postings": []}"#, 400, "invalid_request"),
                (#"{"id": "\#(p):bad", "type": "teleport"}"#, 400, "invalid_request"),
                (
                    #"{"id": "\#(p):bad", "type": "hold", "timeout": 0, "postings": [{"direction": "debit", "account": "\#(p):world", "amount": "1"}, {"direction": "credit", "account": "\#(p):shop", "amount": "1"}]}"#,
                    400, "invalid_timeout"
                ),
                (#"[1, 2]"#, 400, "invalid_request"),
            ]
            for (body, status, code) in cases {
                try await s.call(.POST, "/v1/transfers", key: s.write, body: body).expectProblem(status, code)
            }
            // 2^256 - 1 is a valid amount; 2^256 is not.
            let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
            let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936"
            try await s.call(.POST, "/v1/transfers", key: s.write, body: posting("\"\(over)\"")).expectProblem(400, "invalid_request")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: posting("\"\(max)\"", id: "max")).expect(201)

            // Larger than the configured limit: 413, and not written.
            let big =
                #"{"id": "\#(p):big", "metadata": {"pad": "\#(String(repeating: "x", count: 5_000))"}, "postings": [{"direction": "debit", "account": "\#(p):world", "amount": "1"}, {"direction": "credit", "account": "\#(p):shop", "amount": "1"}]}"#
            try await s.call(.POST, "/v1/transfers", key: s.write, body: big).expectProblem(413, "body_too_large")
            try await s.call(.GET, "/v1/transfers/\(p):big", key: s.read).expectProblem(404, "not_found")
            try await s.call(.GET, "/v1/transfers/\(p):bad", key: s.read).expectProblem(404, "not_found")
            let shop = try await s.call(.GET, "/v1/accounts/\(p):shop/balance", key: s.read).expect(200)
            #expect(shop["posted"] == max, "only the valid transfer was written")
        }
    }

    @Test func badQueriesAndPaths() async throws {
        try await TestServer.with { s in
            try await s.books("world", "shop")
            let p = s.prefix
            for query in ["at=yesterday", "at=2026-02-30T00:00:00Z", "at=2026-01-01T00:00:00"] {
                try await s.call(.GET, "/v1/accounts/\(p):shop/balance?\(query)", key: s.read).expectProblem(400, "invalid_query")
            }
            for query in ["limit=0", "limit=1001", "limit=ten"] {
                try await s.call(.GET, "/v1/accounts/\(p):shop/entries?\(query)", key: s.read).expectProblem(400, "invalid_query")
            }
            try await s.call(.GET, "/v1/accounts/\(p):shop/entries?cursor=zzz", key: s.read).expectProblem(400, "invalid_cursor")
            try await s.call(.GET, "/v1/accounts/%20bad", key: s.read).expectProblem(400, "malformed_id")
            try await s.call(.POST, "/v1/transfers/batch", key: s.write, body: #"{"transfers": []}"#).expectProblem(400, "invalid_request")
            try await s.call(.POST, "/v1/transfers/batch", key: s.write, body: #"{"transfers": [], "atomically": true}"#)
                .expectProblem(400, "unknown_field")
            try await s.call(
                .POST, "/v1/transfers/batch", key: s.write,
                body: #"{"transfers": [\#(s.transfer("n", "world", "shop", "1"))], "atomic": null}"#
            )
            .expect(400, "atomic: null is not a boolean")
            for rail in ["a%00b", String(repeating: "r", count: 201)] {
                try await s.call(.GET, "/v1/reconciliation/runs?rail=\(rail)", key: s.read).expectProblem(400, "invalid_query")
                try await s.call(.GET, "/v1/reconciliation/breaks?rail=\(rail)", key: s.read).expectProblem(400, "invalid_query")
            }
            try await s.call(.POST, "/v1/transfers/\(p):x/void", key: s.write, body: #"{"amount": "5"}"#).expectProblem(
                400, "unknown_field")
            try await s.call(.POST, "/v1/accounts", key: s.write, body: #"{"id": "\#(p):a", "asset": "\#(p)-usd", "normal_side": "up"}"#)
                .expectProblem(400, "invalid_request")
            try await s.call(
                .POST, "/v1/accounts", key: s.write,
                body: #"{"id": "\#(p):a", "asset": "\#(p)-usd", "normal_side": "debit", "closed": true}"#
            )
            .expectProblem(400, "unknown_field")
            try await s.call(.POST, "/v1/assets", key: s.admin, body: #"{"id": "\#(p)-x", "code": "X", "scale": 99}"#)
                .expectProblem(400, "invalid_asset")
            try await s.call(.GET, "/v1/accounts/\(p):a", key: s.read).expectProblem(404, "not_found")
        }
    }

    /// A documented path with a method the document does not give it is a 405 naming the methods
    /// it takes (what a client generated from the document expects); an undocumented path is a 404.
    @Test func aDocumentedPathWithAnotherMethodIs405WithAllow() async throws {
        try await TestServer.with { s in
            let p = s.prefix
            for (method, path, allow) in [
                (NIOHTTP1.HTTPMethod.DELETE, "/healthz", "GET"), (.GET, "/v1/transfers", "POST"), (.PUT, "/v1/transfers/\(p):t", "GET"),
                (.POST, "/v1/accounts/\(p):a%3Ab/balance", "GET"), (.RAW(value: "TRACE"), "/v1/transfers/batch", "POST"),
            ] {
                let reply = try await s.call(method, path, key: s.admin).expectProblem(405, "method_not_allowed")
                #expect(reply.headers.first(name: "Allow") == allow, "\(method) \(path)")
            }
            try await s.call(.DELETE, "/v1/nothing/here", key: s.admin).expectProblem(404, "not_found")
            try await s.call(.GET, "/v1/transfers/\(p):t/extra", key: s.admin).expectProblem(404, "not_found")
            // An unusable request id is replaced, never refused.
            let replaced = try await s.call(.GET, "/healthz", headers: [("X-Request-Id", String(repeating: "x", count: 200))]).expect(200)
            #expect(replaced.headers.first(name: "X-Request-Id").map { $0.count < 200 } == true)
        }
    }
}

extension RequestErrorTests {
    /// PostgreSQL cannot store a NUL character (`\u0000` in JSON): it is refused with a 400 before
    /// the database sees it, wherever it hides, and nothing is written.
    @Test func nulCharactersAreRefusedWithA400() async throws {
        try await TestServer.with { s in
            try await s.books("world", "shop")
            let p = s.prefix
            let postings =
                #""postings": [{"direction": "debit", "account": "\#(p):world", "amount": "1"}, {"direction": "credit", "account": "\#(p):shop", "amount": "1"}]"#
            let transfers: [(String, String)] = [
                (#"{"id": "\#(p):n1", "metadata": {"note": "a\u0000b"}, \#(postings)}"#, "invalid_metadata"),
                (#"{"id": "\#(p):n2", "metadata": {"a\u0000": "b"}, \#(postings)}"#, "invalid_metadata"),
                (#"{"id": "\#(p):n3", "metadata": {"deep": [{"x": ["\u0000"]}]}, \#(postings)}"#, "invalid_metadata"),
                (
                    #"{"id": "\#(p):n4", "rail_reference": {"rail": "card", "reference": "ch_\u0000"}, \#(postings)}"#,
                    "invalid_rail_reference"
                ),
            ]
            for (body, code) in transfers {
                try await s.call(.POST, "/v1/transfers", key: s.write, body: body).expectProblem(400, code)
            }
            let accounts: [(String, String)] = [
                (#"{"id": "\#(p):n5", "asset": "\#(p)-usd", "normal_side": "credit", "metadata": {"k": "\u0000"}}"#, "invalid_metadata"),
                (#"{"id": "\#(p):n6", "asset": "\#(p)-usd", "normal_side": "credit", "code": "a\u0000"}"#, "invalid_account"),
                (#"{"id": "\#(p):n7", "asset": "\#(p)-usd", "normal_side": "credit", "external_id": "\u0000"}"#, "invalid_account"),
            ]
            for (body, code) in accounts {
                try await s.call(.POST, "/v1/accounts", key: s.admin, body: body).expectProblem(400, code)
            }
            let shop = try await s.call(.GET, "/v1/accounts/\(p):shop/balance", key: s.read).expect(200)
            #expect(shop["posted"] == "0", "nothing was written")
        }
    }

    /// What the OpenAPI document states is what the server enforces (Schemathesis checks both
    /// ways): lengths in characters, cursors in the one spelling the ledger writes, and a batch
    /// item that breaks a documented constraint refuses the whole request like an undecodable one.
    @Test func documentedConstraintsAreTheServers() async throws {
        try await TestServer.with { s in
            try await s.books("world", "shop")
            let p = s.prefix
            let postings =
                #""postings": [{"direction": "debit", "account": "\#(p):world", "amount": "1"}, {"direction": "credit", "account": "\#(p):shop", "amount": "1"}]"#
            // 256 two-byte characters are 256 characters, as maxLength counts; 257 are too many.
            let long = String(repeating: "é", count: 256)
            try await s.call(
                .POST, "/v1/transfers", key: s.write,
                body: #"{"id": "\#(p):r1", "rail_reference": {"rail": "ü", "reference": "\#(long)"}, \#(postings)}"#
            ).expect(201)
            try await s.call(
                .POST, "/v1/transfers", key: s.write,
                body: #"{"id": "\#(p):r2", "rail_reference": {"rail": "ü", "reference": "\#(long)é"}, \#(postings)}"#
            ).expectProblem(400, "invalid_rail_reference")
            let code = String(repeating: "é", count: 64)
            try await s.call(
                .POST, "/v1/accounts", key: s.admin,
                body: #"{"id": "\#(p):c1", "asset": "\#(p)-usd", "normal_side": "credit", "code": "\#(code)"}"#
            ).expect(201)

            // An uppercase CAIP-2 namespace was a 503 from the table's check.
            try await s.call(
                .POST, "/v1/assets", key: s.admin, body: #"{"id": "\#(p)-net", "code": "USD", "scale": 2, "network": "EIP155:1"}"#
            ).expectProblem(400, "invalid_asset")

            for cursor in ["v01", "v+1", "v-1", "v0", "v"] {
                try await s.call(.GET, "/v1/accounts/\(p):shop/entries?cursor=\(cursor)", key: s.read).expectProblem(400, "invalid_cursor")
            }
            try await s.call(.GET, "/v1/accounts/\(p):shop/entries?cursor=v1", key: s.read).expect(200)

            try await s.call(
                .POST, "/v1/transfers", key: s.write,
                body: #"{"id": "\#(p):r3", "rail_reference": {"rail": "card", "reference": "ch_1", "memo": 1}, \#(postings)}"#
            ).expectProblem(400, "unknown_field")

            // A zero amount in one item: 400 for the batch, and its valid neighbour is not recorded.
            let batch = #"{"transfers": [\#(s.transfer("b1", "world", "shop", "1")), \#(s.transfer("b2", "world", "shop", "0"))]}"#
            let refused = try await s.call(.POST, "/v1/transfers/batch", key: s.write, body: batch).expectProblem(
                400, "amount_must_be_positive")
            #expect(refused["transfer_id"] == "\(p):b2")
            try await s.call(.GET, "/v1/transfers/\(p):b1", key: s.read).expect(404)
            // Also when the item breaks a rule across fields too (from = to), checked after.
            let selfSweep =
                #"{"id": "\#(p):b4", "type": "balancing", "from": "\#(p):shop", "to": "\#(p):shop", "metadata": {"k": "\u0000"}}"#
            try await s.call(.POST, "/v1/transfers/batch", key: s.write, body: #"{"transfers": [\#(selfSweep)]}"#)
                .expectProblem(400, "invalid_metadata")
            // A condition on an account the transfer does not post to has the documented form: 422
            // alone, and a per-item rejection in a batch.
            let stray = #"{"id": "\#(p):b3", \#(postings), "conditions": [{"account": "\#(p):c1", "version": 0}]}"#
            try await s.call(.POST, "/v1/transfers", key: s.write, body: stray).expectProblem(422, "invalid_condition")
            let results = try await s.call(.POST, "/v1/transfers/batch", key: s.write, body: #"{"transfers": [\#(stray)]}"#).expect(200)
            #expect(results.text.contains(#""code":"invalid_condition""#), "\(results.text)")
        }
    }
}
