import AsyncHTTPClient
import Foundation
import Ledger
import LedgerAPI
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import ServiceLifecycle
import SettleTesting
import Testing

/// A `settle serve` of its own, on a free loopback port, over the shared test database (or the
/// one given).
///
/// Every test gets its own server (its own pool, committer and key cache) and its own id prefix,
/// so tests run in parallel. Requests go through AsyncHTTPClient: real HTTP/1.1 over TCP.
struct TestServer: Sendable {
    let port: Int
    let group: ServiceGroup
    /// The server's pool, for a test's own SQL on its database.
    let client: PostgresClient
    /// Account, asset and transfer ids of this test start with it.
    let prefix: String
    let keys: APIKeyStore
    /// Keys of each scope, unlimited.
    let admin: String
    let write: String
    let read: String

    static let http = HTTPClient(eventLoopGroupProvider: .singleton)

    /// Runs `body` against a running server, then shuts the server down gracefully.
    static func with<T: Sendable>(
        _ configure: (inout ServerConfiguration) -> Void = { _ in }, webhooks: WebhookReceiver? = nil, database: DatabaseURL? = nil,
        _ body: (TestServer) async throws -> T
    ) async throws -> T {
        var configuration = ServerConfiguration(port: 0, keyCacheTTL: .zero, logLevel: .warning)
        configure(&configuration)
        let url = if let database { database } else { try await TestDatabase.databaseURL() }
        let logger = TestDatabase.logger
        let client = PostgresClient(
            configuration: try url.clientConfiguration(connections: configuration.databaseConnections), backgroundLogger: logger)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = APIServer.application(
            client: client, configuration: configuration, logger: logger, webhooks: webhooks,
            beforeServing: { try await $0.migrate() },
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? 0)
                portSink.finish()
            })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("the server did not start") }
            let keys = APIKeyStore(client: client, cacheTTL: .zero)
            let server = TestServer(
                port: port, group: group, client: client, prefix: "h\(UInt32.random(in: 0...UInt32.max))", keys: keys,
                admin: try await keys.create(scope: .admin, accountPrefix: nil, label: "test").token,
                write: try await keys.create(scope: .write, accountPrefix: nil, label: "test").token,
                read: try await keys.create(scope: .read, accountPrefix: nil, label: "test").token)
            do {
                let result = try await body(server)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// One HTTP exchange. `body` is sent as is (a string of JSON, or anything else).
    @discardableResult
    func call(_ method: NIOHTTP1.HTTPMethod, _ path: String, key: String? = nil, body: String? = nil, headers: [(String, String)] = [])
        async throws -> Reply
    {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await Self.http.execute(request, timeout: HangGuard.timeAmount)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }

    /// Creates an asset `<prefix>-usd` and accounts `<prefix>:<name>` (names ending in `!` get a
    /// no-overdraft limit; names starting with `world` are debit-normal), through the API.
    func books(_ names: String...) async throws { try await books(names) }

    func books(_ names: [String]) async throws {
        try await call(.POST, "/v1/assets", key: admin, body: #"{"id": "\#(prefix)-usd", "code": "USD", "scale": 2}"#).expect(201)
        for name in names {
            let limited = name.hasSuffix("!")
            let clean = name.replacingOccurrences(of: "!", with: "")
            let side = clean.hasPrefix("world") ? "debit" : "credit"
            let limit = limited ? "debits_must_not_exceed_credits" : "none"
            try await call(
                .POST, "/v1/accounts", key: admin,
                body: #"{"id": "\#(prefix):\#(clean)", "asset": "\#(prefix)-usd", "normal_side": "\#(side)", "limit": "\#(limit)"}"#
            ).expect(201)
        }
    }

    /// JSON of a two-posting transfer from `from` to `to` (account names under the prefix).
    func transfer(_ id: String, _ from: String, _ to: String, _ amount: String, type: String = "post") -> String {
        #"{"id": "\#(prefix):\#(id)", "type": "\#(type)", "postings": [{"direction": "debit", "account": "\#(prefix):\#(from)", "amount": "\#(amount)"}, {"direction": "credit", "account": "\#(prefix):\#(to)", "amount": "\#(amount)"}]}"#
    }
}

/// A response, with its body parsed as JSON on demand.
struct Reply: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: Data

    var json: [String: any Sendable] {
        ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]).mapValues { $0 as! (any Sendable) }
    }
    var text: String { String(decoding: body, as: UTF8.self) }
    subscript(_ key: String) -> String? { json[key].map { "\($0)" } }

    /// Records an issue unless the status is `status`; returns self for chaining.
    @discardableResult
    func expect(_ status: Int, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) -> Reply {
        #expect(self.status == status, "\(comment.map { "\($0): " } ?? "")\(text)", sourceLocation: sourceLocation)
        return self
    }

    /// Records an issue unless this is a problem document with `code` and HTTP `status`.
    @discardableResult
    func expectProblem(_ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) -> Reply {
        #expect(self.status == status, "\(text)", sourceLocation: sourceLocation)
        #expect(headers.first(name: "Content-Type") == "application/problem+json", sourceLocation: sourceLocation)
        #expect(self["code"] == code, "\(text)", sourceLocation: sourceLocation)
        #expect(self["type"] == "urn:settle:problem:\(code)", sourceLocation: sourceLocation)
        #expect(self["status"] == String(status), sourceLocation: sourceLocation)
        return self
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
