import Foundation
import LedgerAPI
import NIOHTTP1
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
            for id in ["steal", "leak", "b1", "b2", "other:reverse"] {
                try await s.call(.GET, "/v1/transfers/\(p):\(id)", key: s.read).expectProblem(404, "not_found")
            }
            let other = try await s.call(.GET, "/v1/accounts/\(p):other/balance", key: s.read).expect(200)
            #expect(other["posted"] == "100")
        }
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
