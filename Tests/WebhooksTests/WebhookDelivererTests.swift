import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import Ledger
import Logging
import ServiceLifecycle
import SettleTesting
import Testing

@testable import Webhooks

/// Webhook delivery (decision 0039): in order, signed, at least once, through failures, timeouts
/// and a receiver that was down, with nothing lost or skipped.
@Suite("Webhook delivery")
struct WebhookDelivererTests {
    /// A receiver that answers each request as its plan says (then 200), and keeps what it got.
    actor Receiver {
        enum Behavior: Sendable { case ok, fail(Int), slow(Duration) }
        var plan: [Behavior] = []
        var received: [(signature: String, body: [UInt8])] = []

        func take(_ signature: String, _ body: [UInt8]) -> Behavior {
            received.append((signature, body))
            return plan.isEmpty ? .ok : plan.removeFirst()
        }
        func setPlan(_ plan: [Behavior]) { self.plan = plan }
        func bodies() -> [(signature: String, body: [UInt8])] { received }
    }

    static func withReceiver<T: Sendable>(_ body: (Receiver, Int) async throws -> T) async throws -> T {
        let receiver = Receiver()
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            let behavior = await receiver.take(request.headers[.init("Settle-Signature")!] ?? "", Array(buffer: bytes))
            switch behavior {
            case .ok: return Response(status: .ok)
            case .fail(let status): return Response(status: .init(code: status))
            case .slow(let delay):
                try await Task.sleep(for: delay)
                return Response(status: .ok)
            }
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
            let result = try await body(receiver, port)
            await group.triggerGracefulShutdown()
            return result
        }
    }

    @Test func everyEventArrivesInOrderThroughFailuresTimeoutsAndRetries() async throws {
        let ledger = try await TestDatabase.ledger()
        let prefix = "w\(UInt32.random(in: 0...UInt32.max))"
        let asset = try AssetID("\(prefix)-usd")
        _ = try await ledger.createAssets([Asset(id: asset, code: "USD", scale: 2)])
        let world = try AccountID("\(prefix):world")
        let shop = try AccountID("\(prefix):shop")
        _ = try await ledger.createAccounts([
            Account(id: world, asset: asset, normalSide: .debit), Account(id: shop, asset: asset, normalSide: .credit),
        ])

        try await Self.withReceiver { receiver, port in
            let endpoint = try await ledger.createWebhookEndpoint(
                id: "\(prefix)-hook", url: "http://127.0.0.1:\(port)/hook", types: [.transferCreated], accountPrefix: "\(prefix):")
            // Written before anything delivers: the events wait in the outbox.
            for batch in 0..<5 {
                let transfers = try (0..<50).map { i in
                    NewTransfer(id: try TransferID("\(prefix):t\(batch)-\(i)"), .post([.debit(world, 1), .credit(shop, 1)]))
                }
                let results = try await ledger.post(transfers)
                #expect(results.count { if case .created = $0 { false } else { true } } == 0)
            }

            // Two errors, then an acknowledgement that comes too late (the receiver has the batch,
            // the deliverer does not know), then a receiver that answers.
            await receiver.setPlan([.fail(500), .fail(503), .slow(.seconds(3))])
            var deliverer = WebhookDeliverer(ledger: ledger, batchSize: 40)
            deliverer.timeout = .seconds(1)
            // The position of the last event this endpoint takes: other tests write meanwhile.
            let last = try await ledger.sequenceEvents()
            var failures = 0
            for _ in 0..<200 {
                let current = try #require(try await ledger.webhookEndpoint(endpoint.id))
                let (_, failed) = try await deliverer.deliver(to: current)
                if failed {
                    failures += 1
                    let after = try #require(try await ledger.webhookEndpoint(endpoint.id))
                    #expect(after.failures == failures)
                    #expect(after.nextAttemptAt > (after.lastAttemptAt ?? .distantFuture))
                    continue
                }
                if try await ledger.webhookEndpoint(endpoint.id)?.deliveredThrough ?? 0 >= last { break }
            }
            #expect(failures == 3)
            let state = try #require(try await ledger.webhookEndpoint(endpoint.id))
            #expect(state.failures == 0 && state.lastStatus == 200)

            // What the ledger holds for this endpoint, in order.
            var expected: [String] = []
            var cursor: Int64 = endpoint.deliveredThrough
            while true {
                let page = try await ledger.events(after: cursor, limit: 1_000)
                // Filtered here, not by the ledger: the deliverer's filter is what is checked.
                expected +=
                    page.events.filter { event in
                        (endpoint.types.isEmpty || endpoint.types.contains(event.kind))
                            && (endpoint.accountPrefix.isEmpty
                                || !event.accounts.filter { $0.rawValue.hasPrefix(endpoint.accountPrefix) }.isEmpty)
                    }.map(\.id)
                cursor = page.next
                if cursor == page.head { break }
            }
            #expect(expected.count == 250)

            // Received: every body signed with the endpoint's secret; after de-duplication by id,
            // exactly the expected events in order (the late-acknowledged batch came twice).
            var seen: [String] = []
            var ids: Set<String> = []
            var duplicates = 0
            for (signature, body) in await receiver.bodies() {
                let parts = signature.split(separator: ",")
                let timestamp = try #require(Int(parts.first?.dropFirst(2) ?? ""))
                #expect(WebhookDeliverer.signature(secret: endpoint.secret, timestamp: timestamp, body: body) == signature)
                let items = (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["items"] as? [[String: Any]] ?? []
                for item in items {
                    let id = try #require(item["id"] as? String)
                    if ids.insert(id).inserted { seen.append(id) } else { duplicates += 1 }
                    #expect(item["type"] as? String == "transfer.created")
                }
            }
            #expect(seen == expected)
            #expect(duplicates >= 1, "the batch acknowledged too late is sent again")
        }
    }

    /// An endpoint scoped to a tenant (decision 0046) is sent the events whose every account is
    /// the tenant's, never a transfer that also names another tenant's account, and moves past those.
    @Test func aScopedEndpointIsSentOnlyWhatItsScopeReads() async throws {
        let ledger = try await TestDatabase.ledger()
        let prefix = "w\(UInt32.random(in: 0...UInt32.max))"
        let asset = try AssetID("\(prefix)-usd")
        _ = try await ledger.createAssets([Asset(id: asset, code: "USD", scale: 2)])
        let (a, b, other) = (try AccountID("\(prefix):acme:a"), try AccountID("\(prefix):acme:b"), try AccountID("\(prefix):other:c"))
        _ = try await ledger.createAccounts([
            Account(id: a, asset: asset, normalSide: .debit), Account(id: b, asset: asset, normalSide: .credit),
            Account(id: other, asset: asset, normalSide: .credit),
        ])
        await #expect(throws: LedgerError.self) {
            try await ledger.createWebhookEndpoint(id: "\(prefix)-wide", url: "http://127.0.0.1:9/hook", scope: "\(prefix):acme:")
        }
        try await Self.withReceiver { receiver, port in
            let endpoint = try await ledger.createWebhookEndpoint(
                id: "\(prefix)-acme", url: "http://127.0.0.1:\(port)/hook", types: [.transferCreated], accountPrefix: "\(prefix):acme:",
                scope: "\(prefix):acme:")
            #expect(endpoint.scope == "\(prefix):acme:")
            let transfers = [
                NewTransfer(id: try TransferID("\(prefix):inside-1"), .post([.debit(a, 1), .credit(b, 1)])),
                NewTransfer(id: try TransferID("\(prefix):across"), .post([.debit(a, 1), .credit(other, 1)])),
                NewTransfer(id: try TransferID("\(prefix):inside-2"), .post([.debit(a, 2), .credit(b, 2)])),
            ]
            for transfer in transfers { _ = try await ledger.post([transfer]) }
            let last = try await ledger.sequenceEvents()
            let deliverer = WebhookDeliverer(ledger: ledger)
            for _ in 0..<50 {
                let current = try #require(try await ledger.webhookEndpoint(endpoint.id))
                if current.deliveredThrough >= last { break }
                _ = try await deliverer.deliver(to: current)
            }
            #expect(try await ledger.webhookEndpoint(endpoint.id)?.deliveredThrough ?? 0 >= last)
            var ids: [String] = []
            for (_, body) in await receiver.bodies() {
                let items = (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["items"] as? [[String: Any]] ?? []
                ids += items.compactMap { ($0["data"] as? [String: Any])?["id"] as? String }
            }
            #expect(ids == ["\(prefix):inside-1", "\(prefix):inside-2"])
        }
    }

    @Test func backOffDoublesUpToAnHour() {
        #expect(WebhookDeliverer.backOff(after: 1) == .seconds(1))
        #expect(WebhookDeliverer.backOff(after: 2) == .seconds(2))
        #expect(WebhookDeliverer.backOff(after: 5) == .seconds(16))
        #expect(WebhookDeliverer.backOff(after: 40) == .seconds(3_600))
    }
}
