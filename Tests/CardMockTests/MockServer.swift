import SettleTesting
import AsyncHTTPClient
import CardMock
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle

/// A card mock running in-process on 127.0.0.1, on a free port.
struct MockServer {
    let baseURL: String
    let directory: String?
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    static func start(
        directory: String? = nil, _ configure: (inout CardMockConfiguration) -> Void = { _ in }
    ) async throws -> MockServer {
        var configuration = CardMockConfiguration(port: 0, dataDirectory: directory)
        configuration.webhookRetryBase = .milliseconds(10)
        configure(&configuration)
        var logger = Logger(label: "cardmock-test")
        logger.logLevel = .warning
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try CardMockServer.application(
            configuration: configuration, logger: logger,
            onServerRunning: { channel in continuation.yield(CardMockServer.boundPort(channel) ?? 0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the mock did not start") }
        return MockServer(baseURL: "http://127.0.0.1:\(port)", directory: directory, group: group, task: task)
    }

    /// Graceful shutdown: the server stops, then the journal is synced and the directory unlocked.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    var client: MockClient { MockClient(baseURL: baseURL) }

    /// Runs `body` against a fresh in-memory (or `directory`) mock and stops it afterwards.
    static func with<T>(
        directory: String? = nil, _ configure: (inout CardMockConfiguration) -> Void = { _ in },
        _ body: (MockClient) async throws -> T
    ) async throws -> T {
        let server = try await start(directory: directory, configure)
        do {
            let result = try await body(server.client)
            try await server.stop()
            return result
        } catch {
            try? await server.stop()
            throw error
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One answer of the mock.
struct Reply: CustomStringConvertible {
    var status: Int
    var json: JSON
    var headers: [String: String]

    subscript(key: String) -> JSON? { json[key] }
    /// `error.code` etc.
    var error: JSON? { json["error"] }
    var id: String { json["id"]?.string ?? "" }
    var description: String { "\(status) \(String(decoding: json.encoded(), as: UTF8.self))" }
}

/// A small form-encoding HTTP client for the mock.
struct MockClient {
    let baseURL: String
    var key: String? = "sk_test_cardmock"

    func post(_ path: String, _ form: KeyValuePairs<String, String> = [:], idempotencyKey: String? = nil) async throws -> Reply {
        try await send(.POST, path, body: Self.encode(Array(form)), idempotencyKey: idempotencyKey)
    }

    func post(_ path: String, pairs: [(String, String)], idempotencyKey: String? = nil) async throws -> Reply {
        try await send(.POST, path, body: Self.encode(pairs), idempotencyKey: idempotencyKey)
    }

    func get(_ path: String, _ query: KeyValuePairs<String, String> = [:]) async throws -> Reply {
        let encoded = Self.encode(Array(query))
        return try await send(.GET, encoded.isEmpty ? path : path + "?" + encoded)
    }

    func delete(_ path: String) async throws -> Reply { try await send(.DELETE, path) }

    func send(
        _ method: HTTPMethod, _ path: String, body: String? = nil, idempotencyKey: String? = nil, headers: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        let bytes = try await response.body.collect(upTo: 16 << 20)
        let json = (try? JSONDecoder().decode(JSON.self, from: Data(bytes.readableBytesView))) ?? .null
        var fields: [String: String] = [:]
        for header in response.headers { fields[header.name.lowercased()] = header.value }
        return Reply(status: Int(response.status.code), json: json, headers: fields)
    }

    static func encode(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~[]")
        return pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
    }

    /// A confirmed card PaymentIntent.
    func payment(
        _ amount: Int64, card: String = "pm_card_visa", capture: String = "automatic", extra: [(String, String)] = [],
        idempotencyKey: String? = nil
    ) async throws -> Reply {
        try await post(
            "/v1/payment_intents",
            pairs: [
                ("amount", String(amount)), ("currency", "usd"), ("payment_method", card), ("payment_method_types[0]", "card"),
                ("confirm", "true"), ("capture_method", capture),
            ] + extra, idempotencyKey: idempotencyKey)
    }

    func advance(seconds: Int64) async throws {
        let reply = try await post("/_mock/clock/advance", ["seconds": String(seconds)])
        guard reply.status == 200 else { throw TestFailure("advance failed: \(reply)") }
    }
}

extension JSON {
    /// `json[path: "latest_charge.balance_transaction.fee"]`.
    subscript(path path: String) -> JSON? {
        var value: JSON? = self
        for key in path.split(separator: ".") {
            if let index = Int(key), let array = value?.array {
                value = index < array.count ? array[index] : nil
            } else {
                value = value?[String(key)]
            }
        }
        return value
    }

    var count: Int { array?.count ?? 0 }
}

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "cardmock-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
