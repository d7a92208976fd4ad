import Foundation
import Ledger
import LedgerAPI
import NIOHTTP1
import SettleTesting
import Testing

/// `GET /v1/events` (long-poll), balance monitors and webhook endpoints over HTTP (decision 0039).
@Suite("Events, monitors and webhook endpoints over HTTP")
struct EventAPITests {
    @Test func aLongPollReturnsTheEventThatArrivesWhileItWaits() async throws {
        try await TestServer.with { s in
            let p = s.prefix
            try await s.books("world", "agent")
            let head = try await s.call(.GET, "/v1/events?types=account.closed&account_prefix=\(p):", key: s.read).expect(200)
            let after = try #require(head["head"])
            async let waited = s.call(.GET, "/v1/events?after=\(after)&wait=20&account_prefix=\(p):", key: s.read)
            try await Task.sleep(for: .milliseconds(300))
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("fund", "world", "agent", "500")).expect(201)
            let reply = try await waited.expect(200)
            let items = reply.json["items"] as? [[String: Any]] ?? []
            #expect(items.count == 1, "\(reply.text)")
            #expect(items.first?["type"] as? String == "transfer.created")
            let data = items.first?["data"] as? [String: Any]
            #expect(data?["id"] as? String == "\(p):fund")
            // Other tests' events may follow it in the page: the cursor is at it or past it.
            #expect(Int(reply["next_cursor"] ?? "") ?? 0 >= items.first?["position"] as? Int ?? .max)
            #expect(items.first?["id"] as? String == "evt_\(items.first?["position"] ?? "")")

            // Nothing more: a read without waiting answers at once, empty, at the same cursor.
            let next = try #require(reply["next_cursor"])
            let idle = try await s.call(.GET, "/v1/events?after=\(next)&account_prefix=\(p):", key: s.read).expect(200)
            #expect((idle.json["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func aKeyLimitedToAPrefixSeesOnlyEventsWhollyInside() async throws {
        try await TestServer.with { s in
            let p = s.prefix
            let start = try #require(try await s.call(.GET, "/v1/events?types=account.closed", key: s.read).expect(200)["head"])
            try await s.books("world", "agent:a", "agent:b", "merchant")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("fund", "world", "agent:a", "500")).expect(201)
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("move", "agent:a", "agent:b", "30")).expect(201)
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("pay", "agent:b", "merchant", "20")).expect(201)
            let limited = try await s.keys.create(scope: .read, accountPrefix: "\(p):agent:", label: "limited").token
            var seen: [String] = []
            var cursor = start
            while true {
                let page = try await s.call(.GET, "/v1/events?after=\(cursor)&limit=1000", key: limited).expect(200)
                for item in page.json["items"] as? [[String: Any]] ?? [] {
                    let data = item["data"] as? [String: Any]
                    seen.append("\(item["type"] ?? "") \(data?["id"] ?? "")")
                }
                cursor = try #require(page["next_cursor"])
                if cursor == page["head"] { break }
            }
            // The agent's accounts and the move between them, not the transfers that also touch the
            // world or the merchant.
            #expect(seen == ["account.created \(p):agent:a", "account.created \(p):agent:b", "transfer.created \(p):move"])
            try await s.call(.GET, "/v1/events?account_prefix=\(p):m", key: limited).expectProblem(403, "forbidden_account")
        }
    }

    @Test func badEventQueriesAreRefused() async throws {
        try await TestServer.with { s in
            try await s.call(.GET, "/v1/events?after=abc", key: s.read).expectProblem(400, "invalid_cursor")
            try await s.call(.GET, "/v1/events?after=-1", key: s.read).expectProblem(400, "invalid_cursor")
            try await s.call(.GET, "/v1/events?after=999999999999999999", key: s.read).expectProblem(422, "unknown_cursor")
            try await s.call(.GET, "/v1/events?wait=31", key: s.read).expectProblem(400, "invalid_query")
            try await s.call(.GET, "/v1/events?types=transfer.created,nope", key: s.read).expectProblem(400, "invalid_query")
            try await s.call(.GET, "/v1/events?limit=0", key: s.read).expectProblem(400, "invalid_query")
            try await s.call(.GET, "/v1/events").expectProblem(401, "unauthorized")
        }
    }

    @Test func monitorsThroughTheAPIFireIntoTheEvents() async throws {
        try await TestServer.with { s in
            let p = s.prefix
            try await s.books("world", "agent", "merchant")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("fund", "world", "agent", "500")).expect(201)
            let monitor = #"{"id": "\#(p)-low", "account": "\#(p):agent", "balance": "available", "operator": "lt", "threshold": "100"}"#
            let created = try await s.call(.POST, "/v1/monitors", key: s.write, body: monitor).expect(201)
            #expect(created.json["holds_now"] as? Bool == false)
            try await s.call(.POST, "/v1/monitors", key: s.write, body: monitor).expect(200)
            try await s.call(.POST, "/v1/monitors", key: s.write, body: monitor.replacingOccurrences(of: "\"100\"", with: "\"99\""))
                .expectProblem(409, "exists_with_different_fields")
            try await s.call(
                .POST, "/v1/monitors", key: s.write,
                body: monitor.replacingOccurrences(of: "\(p)-low", with: "\(p)-x").replacingOccurrences(
                    of: ":agent", with: ":nobody")
            ).expectProblem(422, "account_not_found")
            try await s.call(.POST, "/v1/monitors", key: s.write, body: monitor.replacingOccurrences(of: "\"lt\"", with: "\"<\""))
                .expect(400)
            try await s.call(.POST, "/v1/monitors", key: s.read, body: monitor).expectProblem(403, "forbidden_scope")
            // A re-arm level (decision 0043): on the far side of the threshold, shown when read.
            let rearmed =
                #"{"id": "\#(p)-hys", "account": "\#(p):agent", "balance": "available", "operator": "lt", "threshold": "100", "rearm": "400"}"#
            #expect(try await s.call(.POST, "/v1/monitors", key: s.write, body: rearmed).expect(201)["rearm"] == "400")
            let read = try await s.call(.GET, "/v1/monitors/\(p)-hys", key: s.read).expect(200)
            #expect(read["rearm"] == "400" && read.json["armed"] as? Bool == true)
            try await s.call(
                .POST, "/v1/monitors", key: s.write,
                body: rearmed.replacingOccurrences(of: "-hys", with: "-bad").replacingOccurrences(of: "\"400\"", with: "\"50\"")
            ).expectProblem(422, "invalid_rearm")
            try await s.call(.DELETE, "/v1/monitors/\(p)-hys", key: s.write).expect(200)

            let start = try #require(try await s.call(.GET, "/v1/events?types=account.closed", key: s.read).expect(200)["head"])
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("pay", "agent", "merchant", "450")).expect(201)
            let fired = try await s.call(
                .GET, "/v1/events?after=\(start)&types=balance_monitor.fired&account_prefix=\(p):&wait=10", key: s.read
            ).expect(200)
            let items = fired.json["items"] as? [[String: Any]] ?? []
            #expect(items.count == 1, "\(fired.text)")
            let data = items.first?["data"] as? [String: Any]
            #expect(data?["monitor"] as? String == "\(p)-low")
            #expect(data?["value"] as? String == "50")
            #expect(data?["transfer"] as? String == "\(p):pay")

            let list = try await s.call(.GET, "/v1/monitors?account_prefix=\(p):", key: s.read).expect(200)
            #expect((list.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == ["\(p)-low"])
            try await s.call(.GET, "/v1/monitors/\(p)-low", key: s.read).expect(200)
            try await s.call(.DELETE, "/v1/monitors/\(p)-low", key: s.write).expect(200)
            try await s.call(.DELETE, "/v1/monitors/\(p)-low", key: s.write).expectProblem(404, "not_found")
            try await s.call(.GET, "/v1/monitors/\(p)-low", key: s.read).expectProblem(404, "not_found")
        }
    }

    @Test func webhookEndpointsNeedAWriteKeyAndShowTheirSecretOnce() async throws {
        try await TestServer.with { s in
            let p = s.prefix
            let body = #"{"id": "\#(p)-hook", "url": "http://127.0.0.1:9/hook", "types": ["transfer.created"], "account_prefix": "\#(p):"}"#
            try await s.call(.POST, "/v1/webhook_endpoints", key: s.read, body: body).expectProblem(403, "forbidden_scope")
            let created = try await s.call(.POST, "/v1/webhook_endpoints", key: s.admin, body: body).expect(201)
            let secret = try #require(created["secret"])
            #expect(secret.count == 64)
            let again = try await s.call(.POST, "/v1/webhook_endpoints", key: s.admin, body: body).expect(200)
            #expect(again["secret"] == nil)
            try await s.call(
                .POST, "/v1/webhook_endpoints", key: s.admin, body: body.replacingOccurrences(of: "/hook", with: "/other")
            ).expectProblem(409, "exists_with_different_fields")
            try await s.call(
                .POST, "/v1/webhook_endpoints", key: s.admin,
                body: #"{"id": "\#(p)-bad", "url": "ftp://127.0.0.1/hook"}"#
            ).expectProblem(422, "invalid_url")
            try await s.call(
                .POST, "/v1/webhook_endpoints", key: s.admin,
                body: #"{"id": "\#(p)-bad", "url": "http://127.0.0.1/hook", "types": ["transfer.nope"]}"#
            ).expect(400)
            try await s.call(
                .POST, "/v1/webhook_endpoints", key: s.admin,
                body: #"{"id": "\#(p)-bad", "url": "http://127.0.0.1/hook", "after": "999999999999999999"}"#
            ).expectProblem(422, "unknown_cursor")
            let list = try await s.call(.GET, "/v1/webhook_endpoints", key: s.admin).expect(200)
            let mine = (list.json["items"] as? [[String: Any]] ?? []).filter { ($0["id"] as? String)?.hasPrefix(p) == true }
            #expect(mine.count == 1)
            #expect(mine.first?["secret"] == nil)
            #expect(mine.first?.keys.contains("scope") == true && mine.first?["scope"] is NSNull)
            try await s.call(.DELETE, "/v1/webhook_endpoints/\(p)-hook", key: s.read).expectProblem(403, "forbidden_scope")
            try await s.call(.DELETE, "/v1/webhook_endpoints/\(p)-hook", key: s.admin).expect(200)
            try await s.call(.DELETE, "/v1/webhook_endpoints/\(p)-hook", key: s.admin).expectProblem(404, "not_found")
        }
    }

    /// A merchant's key registers its own webhook (decision 0046): inside its prefix only, seen
    /// and removed by keys of that prefix only, and fed only the events it could read itself.
    @Test func aKeyLimitedToAPrefixRegistersEndpointsScopedToIt() async throws {
        try await TestServer.with { s in
            let p = s.prefix
            let acme = try await s.keys.create(scope: .write, accountPrefix: "\(p):acme:", label: "acme").token
            let other = try await s.keys.create(scope: .write, accountPrefix: "\(p):other:", label: "other").token
            func hook(_ id: String, prefix: String? = nil) -> String {
                #"{"id": "\#(p)-\#(id)", "url": "http://127.0.0.1:9/hook""# + (prefix.map { #", "account_prefix": "\#($0)""# } ?? "") + "}"
            }
            try await s.call(.POST, "/v1/webhook_endpoints", key: acme, body: hook("out", prefix: "\(p):"))
                .expectProblem(403, "forbidden_account")
            try await s.call(.POST, "/v1/webhook_endpoints", key: acme, body: hook("out", prefix: "\(p):other:"))
                .expectProblem(403, "forbidden_account")
            let defaulted = try await s.call(.POST, "/v1/webhook_endpoints", key: acme, body: hook("acme")).expect(201)
            #expect(defaulted["account_prefix"] == "\(p):acme:" && defaulted["scope"] == "\(p):acme:")
            let narrower = try await s.call(.POST, "/v1/webhook_endpoints", key: acme, body: hook("float", prefix: "\(p):acme:float"))
                .expect(201)
            #expect(narrower["scope"] == "\(p):acme:")
            // Another tenant's id is taken, and nothing about it is told.
            try await s.call(.POST, "/v1/webhook_endpoints", key: other, body: hook("acme")).expectProblem(
                409, "exists_with_different_fields")

            func ids(_ key: String) async throws -> Set<String> {
                let list = try await s.call(.GET, "/v1/webhook_endpoints", key: key).expect(200)
                return Set((list.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }.filter { $0.hasPrefix(p) })
            }
            #expect(try await ids(acme) == ["\(p)-acme", "\(p)-float"])
            #expect(try await ids(other).isEmpty)
            #expect(try await ids(s.admin) == ["\(p)-acme", "\(p)-float"])
            try await s.call(.DELETE, "/v1/webhook_endpoints/\(p)-acme", key: other).expectProblem(404, "not_found")
            try await s.call(.DELETE, "/v1/webhook_endpoints/\(p)-float", key: acme).expect(200)

            // Delivery: only events whose every account is under the scope.
            let ledger = PostgresLedger(client: s.client, logger: TestDatabase.logger)
            let endpoint = try #require(try await ledger.webhookEndpoint("\(p)-acme"))
            try await s.books("acme:a", "acme:b", "other:c")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("inside", "acme:a", "acme:b", "5")).expect(201)
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("across", "acme:a", "other:c", "5")).expect(201)
            // Read as the deliverer reads (other tests write meanwhile: page until caught up).
            var read: [LedgerEvent] = []
            var cursor = endpoint.deliveredThrough
            let last = try await ledger.sequenceEvents()
            while cursor < last {
                let page = try await ledger.events(after: cursor, limit: 1_000, accountPrefix: endpoint.accountPrefix, scan: 1_000)
                read += page.events
                guard page.next > cursor else { break }
                cursor = page.next
            }
            func ids(_ events: [LedgerEvent]) -> Set<String> {
                Set(
                    events.compactMap { event -> String? in
                        guard case .transfer(let transfer) = event.subject else { return nil }
                        return transfer.id.rawValue
                    })
            }
            #expect(ids(read) == ["\(p):inside", "\(p):across"], "the transfer across tenants touches the prefix and is read")
            #expect(ids(read.filter(endpoint.shows)) == ["\(p):inside"], "then held back")
        }
    }

    @Test func aCursorAmongPrunedEventsIsGoneNotSkippedPast() async throws {
        // Pruning is global: a database of its own, so the other tests' cursors stay valid.
        try await TestDatabase.withIsolatedDatabase { url in try await Self.readPruned(url) }
    }

    static func readPruned(_ url: DatabaseURL) async throws {
        try await TestServer.with(database: url) { s in
            try await s.books("world", "agent")
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("fund", "world", "agent", "500")).expect(201)
            let ledger = PostgresLedger(client: s.client, logger: TestDatabase.logger)
            let head = try await ledger.sequenceEvents()
            let pruning = try await ledger.pruneEvents(recordedBefore: Date().addingTimeInterval(60))
            #expect(pruning.prunedThrough == head)

            try await s.call(.GET, "/v1/events?after=0", key: s.read).expectProblem(410, "cursor_expired")
            try await s.call(
                .POST, "/v1/webhook_endpoints", key: s.admin,
                body: #"{"id": "hook", "url": "http://127.0.0.1:9/hook", "after": "0"}"#
            ).expectProblem(410, "cursor_expired")
            let page = try await s.call(.GET, "/v1/events?after=\(head)", key: s.read).expect(200)
            #expect((page.json["items"] as? [Any])?.isEmpty == true)
            #expect(page["next_cursor"] == "\(head)")
        }
    }
}
