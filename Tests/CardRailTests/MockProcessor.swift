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

/// The card processor mock running in this process on a free port, with a small form client for
/// the calls the card rail itself does not make (refunds, mock helpers).
struct MockProcessor: Sendable {
    static let apiKey = "sk_test_settle_card_rail"
    let baseURL: String

    /// Runs `body` against a fresh mock, then shuts it down.
    static func with<T: Sendable>(_ body: @Sendable (MockProcessor) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cardmock-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "cardmock")
        logger.logLevel = .warning
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = try CardMockServer.application(
            configuration: .init(port: 0, dataDirectory: directory, webhookRetryBase: .milliseconds(20), tickInterval: .milliseconds(200)),
            logger: logger, onServerRunning: { sink.yield(CardMockServer.boundPort($0) ?? 0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw MockFailure("the mock did not start") }
            do {
                let result = try await body(MockProcessor(baseURL: "http://127.0.0.1:\(port)"))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }

    /// POSTs form `parameters`; the answer as a JSON dictionary. Non-2xx throws.
    @discardableResult
    func post(_ path: String, _ parameters: [String: String] = [:]) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(Self.apiKey)")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let form = parameters.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.value)" }
        request.body = .bytes(ByteBuffer(string: form.joined(separator: "&")))
        return try await send(request)
    }

    /// GETs `path`; the answer as a JSON dictionary.
    func get(_ path: String) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "Authorization", value: "Bearer \(Self.apiKey)")
        return try await send(request)
    }

    private func send(_ request: HTTPClientRequest) async throws -> [String: Any] {
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        let body = try await response.body.collect(upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw MockFailure("\(request.method) \(request.url): \(response.status.code) \(String(buffer: body))")
        }
        return try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] ?? [:]
    }
}

struct MockFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
