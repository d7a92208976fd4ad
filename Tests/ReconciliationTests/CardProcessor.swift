import SettleTesting
import AsyncHTTPClient
import CardMock
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle

/// The card processor mock on a free port in this process, with a form client for the calls the
/// card rail does not make itself (refunds, the mock's clock).
struct CardProcessor: Sendable {
    static let apiKey = "sk_test_settle_reconciliation"
    let baseURL: String

    /// Runs `body` against a fresh mock, then shuts it down.
    static func with<T: Sendable>(_ body: @Sendable (CardProcessor) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recon-cardmock-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "cardmock")
        logger.logLevel = .warning
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = try CardMockServer.application(
            configuration: .init(port: 0, dataDirectory: directory), logger: logger,
            onServerRunning: { sink.yield(CardMockServer.boundPort($0) ?? 0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw ProcessorFailure("the mock did not start") }
            defer { Task { await group.triggerGracefulShutdown() } }
            let result = try await body(CardProcessor(baseURL: "http://127.0.0.1:\(port)"))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    /// Sends form `parameters` (POST) or nothing (GET); the answer as a JSON dictionary.
    @discardableResult
    func call(_ method: HTTPMethod, _ path: String, _ parameters: [String: String] = [:]) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(Self.apiKey)")
        if method == .POST {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            let form = parameters.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.value)" }
            request.body = .bytes(ByteBuffer(string: form.joined(separator: "&")))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        let body = try await response.body.collect(upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw ProcessorFailure("\(method) \(path): \(response.status.code) \(String(buffer: body))")
        }
        return try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] ?? [:]
    }
}

struct ProcessorFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
