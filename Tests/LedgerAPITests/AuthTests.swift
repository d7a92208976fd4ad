import Foundation
import LedgerAPI
import NIOHTTP1
import PostgresNIO
import SettleTesting
import Synchronization
import Testing

/// Keys and scopes on every route: 401 without a valid key, 403 for a scope or an account prefix the
/// key lacks, and what is refused is not written.
@Suite("API keys and scopes")
struct AuthTests {
    @Test func scopeMatrix() async throws {
        try await TestServer.with { s in
            try await s.books("world", "shop")
            let p = s.prefix
            let routes: [(HTTPMethod, String, String?, APIKey.Scope)] = [
                (.GET, "/v1/assets", nil, .read),
                (.POST, "/v1/assets", #"{"id": "\#(p)-eur", "code": "EUR", "scale": 2}"#, .admin),
                (.POST, "/v1/accounts", #"{"id": "\#(p):new", "asset": "\#(p)-usd", "normal_side": "credit"}"#, .write),
                (.GET, "/v1/accounts/\(p):shop", nil, .read),
                (.GET, "/v1/accounts/\(p):shop/balance", nil, .read),
                (.GET, "/v1/accounts/\(p):shop/entries", nil, .read),
                (.POST, "/v1/transfers", s.transfer("t1", "world", "shop", "5"), .write),
                (.POST, "/v1/transfers/batch", #"{"transfers": [\#(s.transfer("t2", "world", "shop", "5"))]}"#, .write),
                (.GET, "/v1/transfers/\(p):t1", nil, .read),
                (.POST, "/v1/transfers/\(p):t1/reverse", nil, .write),
            ]
            let keys: [(String, APIKey.Scope)] = [(s.read, .read), (s.write, .write), (s.admin, .admin)]
            for (method, path, body, needed) in routes {
                try await s.call(method, path, body: body).expectProblem(401, "unauthorized")
                try await s.call(method, path, key: "settle_0123456789abcdef_" + String(repeating: "0", count: 64), body: body)
                    .expectProblem(401, "unauthorized")
                try await s.call(method, path, key: "not-a-key", body: body).expectProblem(401, "unauthorized")
                for (key, scope) in keys.sorted(by: { $0.1 < $1.1 }) {
                    let reply = try await s.call(method, path, key: key, body: body)
                    if scope < needed {
                        reply.expectProblem(403, "forbidden_scope")
                    } else {
                        #expect((200..<300).contains(reply.status), "\(method) \(path) with \(scope): \(reply.text)")
                    }
                }
            }
            let unauthorized = try await s.call(.GET, "/v1/assets")
            #expect(unauthorized.headers.first(name: "WWW-Authenticate") == "Bearer")
        }
    }

    @Test func keyLimitedToAnAccountPrefix() async throws {
        try await TestServer.with { s in
            try await s.books("world", "tenant:a", "tenant:b", "other")
            let p = s.prefix
            let tenant = try await s.keys.create(scope: .write, accountPrefix: "\(p):tenant:", label: "tenant").token
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("seed", "world", "tenant:a", "100")).expect(201)
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("other", "world", "other", "100")).expect(201)

            // Its own accounts: visible and movable.
            try await s.call(.GET, "/v1/accounts/\(p):tenant:a/balance", key: tenant).expect(200)
            try await s.call(.POST, "/v1/transfers", key: tenant, body: s.transfer("move", "tenant:a", "tenant:b", "10")).expect(201)
            try await s.call(.GET, "/v1/transfers/\(p):move", key: tenant).expect(200)
            try await s.call(
                .POST, "/v1/accounts", key: tenant, body: #"{"id": "\#(p):tenant:c", "asset": "\#(p)-usd", "normal_side": "credit"}"#
            ).expect(201)

            // Everyone else's: refused, and nothing written.
            for path in ["/v1/accounts/\(p):other", "/v1/accounts/\(p):other/balance", "/v1/accounts/\(p):other/entries"] {
                try await s.call(.GET, path, key: tenant).expectProblem(403, "forbidden_account")
            }
            try await s.call(.POST, "/v1/transfers", key: tenant, body: s.transfer("steal", "other", "tenant:a", "10"))
                .expectProblem(403, "forbidden_account")
            try await s.call(.POST, "/v1/transfers", key: tenant, body: s.transfer("leak", "tenant:a", "world", "10"))
                .expectProblem(403, "forbidden_account")
            try await s.call(
                .POST, "/v1/transfers/batch", key: tenant,
                body: #"{"transfers": [\#(s.transfer("b1", "tenant:a", "tenant:b", "1")), \#(s.transfer("b2", "other", "tenant:b", "1"))]}"#
            ).expectProblem(403, "forbidden_account")
            try await s.call(
                .POST, "/v1/accounts", key: tenant, body: #"{"id": "\#(p):mine", "asset": "\#(p)-usd", "normal_side": "credit"}"#
            ).expectProblem(403, "forbidden_account")
            // A transfer touching other accounts is not there for this key, whether or not it exists.
            try await s.call(.GET, "/v1/transfers/\(p):other", key: tenant).expectProblem(404, "not_found")
            try await s.call(.POST, "/v1/transfers/\(p):other/reverse", key: tenant).expectProblem(404, "not_found")
            let reversal = try await s.call(
                .POST, "/v1/transfers/batch", key: tenant,
                body: #"{"transfers": [{"id": "\#(p):b3", "type": "reverse", "transfer": "\#(p):other"}]}"#
            ).expect(200)
            #expect(Self.codes(reversal) == ["transfer_not_found"])
            for id in ["steal", "leak", "b1", "b2", "b3", "other:reverse"] {
                try await s.call(.GET, "/v1/transfers/\(p):\(id)", key: s.read).expectProblem(404, "not_found")
            }
            let other = try await s.call(.GET, "/v1/accounts/\(p):other/balance", key: s.read).expect(200)
            #expect(other["posted"] == "100")
        }
    }

    /// On the batch route (whose old check looked every target up before posting any) and on the
    /// single route alike.
    @Test(arguments: [true, false])
    func aPrefixKeyCannotResolveATransferCreatedAfterItWasChecked(batchRoute: Bool) async throws {
        // A database of its own: the test holds the entries table exclusively for a moment.
        let url = try await TestDatabase.isolatedDatabase()
        defer { Task { try? await TestDatabase.dropIsolated(url) } }
        try await TestServer.with(database: url) { s in
            try await s.books("world", "agent:a", "agent:b", "merchant:acme")
            let p = s.prefix
            let agent = try await s.keys.create(scope: .write, accountPrefix: "\(p):agent:", label: "agent").token
            // The agent's own transfer: reversing it reads its entries.
            try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("gate", "agent:a", "agent:b", "1")).expect(201)
            let batch = #"""
                {"transfers": [{"id": "\#(p):undo", "type": "reverse", "transfer": "\#(p):order-123"},
                               {"id": "\#(p):undo-gate", "type": "reverse", "transfer": "\#(p):gate"}]}
                """#
            let (reply, blocked) = try await s.client.withConnection { admin in
                // The admin's order-123 (world -> merchant:acme) is written in a transaction that
                // also holds the entries table: the reversal is checked while the order is not
                // committed, waits for the table, and goes on once the order is committed.
                try await admin.query("begin", logger: TestDatabase.logger)
                try await admin.query("lock table settle.entries in access exclusive mode", logger: TestDatabase.logger)
                let order = "\(p):order-123"
                let (world, merchant) = ("\(p):world", "\(p):merchant:acme")
                let created = try await admin.query(
                    """
                    select status from settle.post_transfers(
                        array[\(order)]::text[], array[0]::int2[], array['']::text[], array[-1]::numeric[], array[0]::int8[],
                        array[now()]::timestamptz[], array[false], array['']::text[], array['']::text[], array['']::text[],
                        array[encode(sha256(convert_to(\(order), 'UTF8')), 'hex')], array[1, 1]::int4[],
                        array[\(world), \(merchant)]::text[], array[true, false], array[700, 700]::numeric[], false)
                    """, logger: TestDatabase.logger)
                for try await status in created.decode(Int16.self) { #expect(status == 0) }
                var holder: Int32 = 0
                for try await pid in try await admin.query("select pg_backend_pid()", logger: TestDatabase.logger).decode(Int32.self) {
                    holder = pid
                }
                let done = Mutex(false)
                let posting = Task {
                    defer { done.withLock { $0 = true } }
                    guard batchRoute else { return try await s.call(.POST, "/v1/transfers/\(p):order-123/reverse", key: agent) }
                    return try await s.call(.POST, "/v1/transfers/batch", key: agent, body: batch)
                }
                var waiting = false
                while !waiting, !done.withLock({ $0 }) {
                    let rows = try await s.client.query(
                        """
                        select count(*) from pg_stat_activity
                         where datname = current_database() and wait_event_type = 'Lock' and pid <> \(holder)
                        """)
                    for try await n in rows.decode(Int64.self) { waiting = n > 0 }
                    if !waiting { try await Task.sleep(for: .milliseconds(5)) }
                }
                try await admin.query("commit", logger: TestDatabase.logger)
                return (try await posting.value, waiting)
            }
            // The reversal was checked while the order was not committed, and posted after it was.
            #expect(blocked)
            if batchRoute {
                reply.expect(200)
                #expect(Self.codes(reply) == ["transfer_not_found", nil])
                try await s.call(.GET, "/v1/transfers/\(p):undo", key: s.read).expectProblem(404, "not_found")
                try await s.call(.GET, "/v1/transfers/\(p):undo-gate", key: s.read).expect(200)
            } else {
                reply.expectProblem(404, "not_found")
                try await s.call(.GET, "/v1/transfers/\(p):order-123:reverse", key: s.read).expectProblem(404, "not_found")
            }
            #expect(try await s.call(.GET, "/v1/accounts/\(p):merchant:acme/balance", key: s.read).expect(200)["posted"] == "700")
        }
    }

    @Test func keysCannotWriteTheRailsNamespace() async throws {
        try await TestServer.with { s in
            try await s.books("world", "shop")
            let p = s.prefix
            let rail = "\(p)rail"
            try await s.client.query("insert into settle.rails (id) values (\(rail))")
            func transfer(_ id: String, railReference: String = "") -> String {
                #"{"id": "\#(id)", "type": "post", "postings": [{"direction": "debit", "account": "\#(p):world", "amount": "1"}, {"direction": "credit", "account": "\#(p):shop", "amount": "1"}]\#(railReference)}"#
            }
            let squat = transfer("\(rail):settled:h0123")
            let reference = transfer("\(p):mine", railReference: #", "rail_reference": {"rail": "\#(rail)", "reference": "0xabc"}"#)
            for key in [s.write, s.admin] {
                try await s.call(.POST, "/v1/transfers", key: key, body: squat).expectProblem(403, "reserved_namespace")
                try await s.call(.POST, "/v1/transfers", key: key, body: reference).expectProblem(403, "reserved_namespace")
                let batch = try await s.call(.POST, "/v1/transfers/batch", key: key, body: #"{"transfers": [\#(squat), \#(reference)]}"#)
                    .expect(200)
                #expect(Self.codes(batch) == ["reserved_namespace", "reserved_namespace"])
            }
            try await s.call(.GET, "/v1/transfers/\(rail):settled:h0123", key: s.read).expectProblem(404, "not_found")
            try await s.call(.GET, "/v1/transfers/\(p):mine", key: s.read).expectProblem(404, "not_found")
            // Outside the namespace, the same transfers are fine.
            try await s.call(.POST, "/v1/transfers", key: s.write, body: transfer("\(p):settled:h0123")).expect(201)
        }
    }

    @Test func anAccountPrefixMustEndWithTheSeparator() async throws {
        try await TestServer.with { s in
            for prefix in ["\(s.prefix):agent", "agent", "\(s.prefix)"] {
                do throws(APIError) {
                    _ = try await s.keys.create(scope: .write, accountPrefix: prefix, label: "no separator")
                    Issue.record("a key with prefix \(prefix) was created")
                } catch {
                    #expect(error.code == .invalidRequest)
                }
            }
            let separated = try await s.keys.create(scope: .write, accountPrefix: "\(s.prefix):agent:", label: "separated")
            #expect(separated.key.accountPrefix == "\(s.prefix):agent:")
        }
    }

    /// The `code` of each result of a batch reply (nil for a created or existing transfer).
    static func codes(_ reply: Reply) -> [String?] {
        ((reply.json["results"] as? [Any]) ?? []).map { ($0 as? [String: Any])?["code"] as? String }
    }

    @Test func revokedKeyIsRefused() async throws {
        try await TestServer.with { s in
            let (key, token) = try await s.keys.create(scope: .read, accountPrefix: nil, label: "to revoke")
            try await s.call(.GET, "/v1/assets", key: token).expect(200)
            #expect(try await s.keys.revoke(id: key.id))
            try await s.call(.GET, "/v1/assets", key: token).expectProblem(401, "unauthorized")
            #expect(try await s.keys.revoke(id: key.id), "revoking twice is not an error")
            #expect(try await !s.keys.revoke(id: "ffffffffffffffff"))
            let listed = try await s.keys.list().first { $0.id == key.id }
            #expect(listed?.revokedAt != nil)
            // A wrong secret for a live key id is refused like an unknown key.
            let live = try await s.keys.create(scope: .read, accountPrefix: nil, label: "live").token
            let forged = String(live.dropLast(4)) + (live.hasSuffix("0000") ? "1111" : "0000")
            try await s.call(.GET, "/v1/assets", key: forged).expectProblem(401, "unauthorized")
        }
    }

    @Test func cachedKeyExpiresAfterItsTTL() async throws {
        try await TestServer.with({ $0.keyCacheTTL = .milliseconds(300) }) { s in
            let (key, token) = try await s.keys.create(scope: .read, accountPrefix: nil, label: "cached")
            try await s.call(.GET, "/v1/assets", key: token).expect(200)
            try await s.keys.revoke(id: key.id)
            try await Task.sleep(for: .milliseconds(400))
            try await s.call(.GET, "/v1/assets", key: token).expectProblem(401, "unauthorized")
        }
    }
}
