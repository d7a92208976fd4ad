import CardMock
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A webhook receiver on a free port that answers 500 to the first `failures` attempts.
final class WebhookReceiver: Sendable {
    struct Hit: Sendable {
        var signature: String
        var body: Data
        var status: Int
    }

    private let hits = Mutex<[Hit]>([])
    private let failures: Int
    private(set) nonisolated(unsafe) var url = ""
    private nonisolated(unsafe) var group: ServiceGroup?
    private nonisolated(unsafe) var task: Task<Void, any Error>?

    init(failures: Int) { self.failures = failures }

    var received: [Hit] { hits.withLock { $0 } }

    func start() async throws {
        let router = Router()
        router.post("/hook") { [self] request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let signature = request.headers[HTTPField.Name("Stripe-Signature")!] ?? ""
            let status = hits.withLock { hits in
                let status = hits.count < failures ? 500 : 200
                hits.append(Hit(signature: signature, body: Data(body.readableBytesView), status: status))
                return status
            }
            return Response(status: .init(code: status))
        }
        var logger = Logger(label: "receiver")
        logger.logLevel = .warning
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield(CardMockServer.boundPort($0) ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        self.group = group
        task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        url = "http://127.0.0.1:\(await iterator.next() ?? 0)/hook"
    }

    func stop() async throws {
        await group?.triggerGracefulShutdown()
        try await task?.value
    }
}

/// Polls until `condition` holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(25))
    }
    return try await condition()
}
