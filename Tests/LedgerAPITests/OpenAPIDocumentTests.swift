import Foundation
import Hummingbird
import Ledger
import LedgerAPI
import NIOHTTP1
import PostgresNIO
import SettleTesting
import Testing

/// The OpenAPI document describes exactly the routes the server has, with the scopes it enforces,
/// is a valid OpenAPI 3.1 document, and is what `GET /openapi.json` serves.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let documentURL = repository.appendingPathComponent("docs/openapi.json")

    static func document() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: documentURL)) as? [String: Any] ?? [:]
    }

    /// `(METHOD path) → x-settle-scope` of the document.
    static func documentedRoutes() throws -> [String: String] {
        let paths = try document()["paths"] as? [String: [String: Any]] ?? [:]
        var routes: [String: String] = [:]
        for (path, item) in paths {
            for (method, operation) in item {
                guard ["get", "post", "put", "patch", "delete", "head", "options"].contains(method) else { continue }
                routes["\(method.uppercased()) \(path)"] = (operation as? [String: Any])?["x-settle-scope"] as? String ?? "?"
            }
        }
        return routes
    }

    @Test func routesMatchTheDocumentExactly() async throws {
        let client = try await TestDatabase.client()
        let ledger = PostgresLedger(client: client)
        let routes = LedgerRoutes(
            ledger: ledger, commit: GroupCommit(ledger: ledger), reads: BalanceReads(ledger: ledger), keys: APIKeyStore(client: client),
            maxBodyBytes: 1 << 20,
            metrics: .shared)
        let (router, table) = routes.router()
        let served = Set(router.routes.map { "\($0.method) \($0.path)" })
        let tabled = Dictionary(uniqueKeysWithValues: table.map { ("\($0.method) \($0.path)", $0.scope) })
        #expect(served == Set(tabled.keys), "the route table and the router disagree")

        let documented = try Self.documentedRoutes()
        let missing = served.subtracting(documented.keys).sorted()
        let extra = Set(documented.keys).subtracting(served).sorted()
        #expect(missing.isEmpty, "routes missing from docs/openapi.json: \(missing)")
        #expect(extra.isEmpty, "docs/openapi.json names routes that don't exist: \(extra)")
        for (route, scope) in tabled where documented[route] != nil {
            #expect(documented[route] == scope, "\(route): the server wants \(scope), the document says \(documented[route]!)")
        }
    }

    @Test func documentIsValidOpenAPI31() async throws {
        let document = try Self.document()
        #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
        let validator = Self.repository.appendingPathComponent(".venv/bin/openapi-spec-validator").path
        try #require(
            FileManager.default.isExecutableFile(atPath: validator),
            "\(validator) is missing: run scripts/bootstrap (it installs requirements-test.txt)")
        // Its verdict on stdout and its errors on stderr: a failure throws with the latter.
        let text = String(decoding: try await offPool { try runChildProcess(validator, [Self.documentURL.path]) }, as: UTF8.self)
        #expect(text.contains("OK"), "\(text)")
    }

    @Test func servedDocumentIsTheCommittedOne() async throws {
        try await TestServer.with { s in
            let reply = try await s.call(.GET, "/openapi.json").expect(200)
            #expect(reply.body == (try Data(contentsOf: Self.documentURL)))
        }
    }
}
