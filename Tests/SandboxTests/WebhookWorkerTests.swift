import Foundation
import Hummingbird
import Ledger
import Logging
import ServiceLifecycle
import SettleTesting
import Synchronization
import Testing

extension BinaryTests.WorkerProcessTests {
    /// A webhook receiver that takes a while to answer, so that a worker can be killed while a
    /// batch is on the wire; it keeps every body it got.
    final class SlowReceiver: Sendable {
        let bodies = Mutex<[[UInt8]]>([])

        func run<T: Sendable>(_ body: (Int) async throws -> T) async throws -> T {
            let router = Router()
            router.post("/hook") { [self] request, _ -> Response in
                let bytes = try await request.body.collect(upTo: 16 << 20)
                self.bodies.withLock { $0.append(Array(buffer: bytes)) }
                try await Task.sleep(for: .milliseconds(150))
                return Response(status: .ok)
            }
            let (ports, sink) = AsyncStream.makeStream(of: Int.self)
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in
                    sink.yield(channel.localAddress?.port ?? 0)
                    sink.finish()
                }, logger: Logger(label: "receiver"))
            let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "receiver")))
            return try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else { throw CancellationError() }
                defer { tasks.cancelAll() }
                let result = try await body(port)
                await group.triggerGracefulShutdown()
                return result
            }
        }

        /// Event ids in the order first received, and how many came more than once.
        func received() throws -> (ids: [String], duplicates: Int) {
            var ids: [String] = []
            var seen: Set<String> = []
            var duplicates = 0
            for body in bodies.withLock({ $0 }) {
                let items = (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["items"] as? [[String: Any]] ?? []
                for item in items {
                    guard let id = item["id"] as? String else { continue }
                    if seen.insert(id).inserted { ids.append(id) } else { duplicates += 1 }
                }
            }
            return (ids, duplicates)
        }
    }

    /// The worker's webhooks job delivers what was committed before it started, and a worker killed
    /// mid-delivery loses nothing: the next one resends from the last acknowledged position.
    @Test func aWorkerKilledMidDeliveryLosesNoEvent() async throws {
        let (url, text) = try await Self.database()
        guard SettleProcess.binary != nil else { return }
        let receiver = SlowReceiver()
        try await receiver.run { port in
            // Committed before any worker runs: the events wait in the outbox.
            let expected: [String] = try await withLedger(url) { ledger in
                _ = try await ledger.createAssets([Asset(id: "usd", code: "USD", scale: 2)])
                _ = try await ledger.createAccounts([
                    Account(id: "world", asset: "usd", normalSide: .debit), Account(id: "shop", asset: "usd", normalSide: .credit),
                ])
                _ = try await ledger.createWebhookEndpoint(id: "hook", url: "http://127.0.0.1:\(port)/hook", after: 0)
                for batch in 0..<6 {
                    let transfers = try (0..<100).map { i in
                        NewTransfer(id: try TransferID("t\(batch)-\(i)"), .post([.debit("world", 1), .credit("shop", 1)]))
                    }
                    _ = try await ledger.post(transfers)
                }
                var ids: [String] = []
                var cursor: Int64 = 0
                while true {
                    let page = try await ledger.events(after: cursor, limit: 1_000)
                    ids += page.events.map(\.id)
                    cursor = page.next
                    if cursor == page.head { return ids }
                }
            }
            #expect(expected.count == 602)

            let environment = ["WORKER_WEBHOOKS_SCHEDULE": "* * * * * *", "WORKER_CHAIN_ADVANCE_SCHEDULE": "off"]
            guard let first = try Self.start(text, id: "a", environment: environment) else { return }
            defer { first.stop() }
            try await Self.eventually("a first batch") { receiver.bodies.withLock { $0.count } >= 2 }
            first.signal(SIGKILL)
            _ = try await first.exitStatus()
            #expect(try receiver.received().ids.count < expected.count, "the kill came before the end")

            guard let second = try Self.start(text, id: "b", environment: environment) else { return }
            defer { second.stop() }
            try await Self.eventually("every event") { try receiver.received().ids.count >= expected.count }
            let (ids, _) = try receiver.received()
            #expect(ids == expected)
        }
    }
}
