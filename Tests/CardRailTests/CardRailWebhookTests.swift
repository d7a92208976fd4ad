import CardRail
import Crypto
import Foundation
import Hummingbird
import Ledger
import Logging
import RailKit
import ServiceLifecycle
import SettleTesting
import Synchronization
import Testing

@Suite("Card rail webhooks", .timeLimit(.minutes(3)))
struct CardRailWebhookTests {
    /// Signs `body` as the processor does: `t=<unix>,v1=HMAC-SHA256(secret, "t.body")`.
    static func sign(_ body: [UInt8], secret: String, at time: Date = Date()) -> String {
        let t = Int64(time.timeIntervalSince1970)
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(t).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))
        return "t=\(t),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Every event the processor recorded, newest first, as the raw JSON of each.
    static func rawEvents(_ mock: MockProcessor) async throws -> [[UInt8]] {
        var result: [[UInt8]] = []
        var after: String?
        repeat {
            let page = try await mock.get("/v1/events?limit=100" + (after.map { "&starting_after=\($0)" } ?? ""))
            let data = page["data"] as? [[String: Any]] ?? []
            for event in data { result.append(Array(try JSONSerialization.data(withJSONObject: event))) }
            after = (page["has_more"] as? Bool ?? false) ? data.last?["id"] as? String : nil
        } while after != nil
        return result
    }

    @Test func eventsInReverseOrderBookTheSameBooksOnce() async throws {
        try await MockProcessor.with { mock in
            let ledger = try await TestDatabase.ledger()
            let secret = "whsec_test_\(UUID().uuidString)"
            let rail = try CardRailDayTests.rail(mock, webhookSecret: secret)
            let booker = RailBooker(ledger: ledger)
            try await booker.install(rail.descriptor)
            let webhooks = RailWebhooks(rails: [rail], booker: booker, logger: TestDatabase.logger)
            let tag = rail.descriptor.id
            let asset = rail.descriptor.assets[0].id.rawValue

            let topUpWallet = try AccountID("\(tag):agent:w")
            let limitWallet = try AccountID("\(tag):agent:l:1")
            _ = try await rail.topUp(
                wallet: topUpWallet, amount: 1_500, currency: "usd", paymentMethod: "pm_card_visa", idempotencyKey: "\(tag)-t")
            let limit = try await rail.authorizeLimit(
                wallet: limitWallet, amount: 4_000, currency: "usd", paymentMethod: "pm_card_visa", idempotencyKey: "\(tag)-l")
            // The agent used 2,500 of the limit before the webhooks were taken: the capture is the
            // processor's figure, and the ledger must follow it whatever order events arrive in.
            try await mock.post("/v1/payment_intents/\(limit.id)/capture", ["amount_to_capture": "2500"])
            let events = try await Self.rawEvents(mock)
            #expect(events.count >= 6)

            // Newest first: every event arrives before the ones it follows.
            for body in events {
                let taken = try await webhooks.take(rail: tag, headers: ["Stripe-Signature": Self.sign(body, secret: secret)], body: body)
                #expect(taken)
            }
            #expect(try await CardRailDayTests.balance(ledger, topUpWallet.rawValue) == "1500")
            // Authorized 4,000, captured 2,500, released 1,500: the wallet keeps what was captured.
            #expect(try await CardRailDayTests.balance(ledger, limitWallet.rawValue) == "2500")
            #expect(try await CardRailDayTests.balance(ledger, "card:\(asset):authorized") == "0")
            #expect(try await CardRailDayTests.balance(ledger, "card:\(asset):clearing") == "0")

            // A replay is recognised and books nothing.
            let replay = events[0]
            #expect(
                try await webhooks.take(rail: tag, headers: ["stripe-signature": Self.sign(replay, secret: secret)], body: replay) == false)
            // The same events pulled again change nothing either.
            let pulled = try await booker.sync(rail, pageSize: 100)
            #expect(pulled.created == 0 && pulled.rejected.isEmpty, "\(pulled)")
            #expect(try await ledger.verify().passed)
        }
    }

    @Test func badSignaturesAreRefusedAndBookNothing() async throws {
        try await MockProcessor.with { mock in
            let ledger = try await TestDatabase.ledger()
            let secret = "whsec_test_\(UUID().uuidString)"
            let rail = try CardRailDayTests.rail(mock, webhookSecret: secret)
            let booker = RailBooker(ledger: ledger)
            try await booker.install(rail.descriptor)
            let webhooks = RailWebhooks(rails: [rail], booker: booker, logger: TestDatabase.logger)
            let tag = rail.descriptor.id
            let wallet = try AccountID("\(tag):agent:x")
            _ = try await rail.topUp(
                wallet: wallet, amount: 900, currency: "usd", paymentMethod: "pm_card_visa", idempotencyKey: "\(tag)-x")
            let events = try await Self.rawEvents(mock)

            func refused(_ headers: [String: String], _ body: [UInt8]) async -> RailError.Code? {
                do throws(RailWebhooks.Failure) {
                    _ = try await webhooks.take(rail: tag, headers: headers, body: body)
                    return nil
                } catch {
                    if case .invalid(let e) = error { return e.code }
                    return "unexpected"
                }
            }
            for body in events {
                #expect(await refused([:], body) == .invalidSignature)
                #expect(await refused(["Stripe-Signature": Self.sign(body, secret: "whsec_wrong")], body) == .invalidSignature)
                var tampered = body
                tampered[tampered.count / 2] ^= 1
                #expect(await refused(["Stripe-Signature": Self.sign(body, secret: secret)], tampered) == .invalidSignature)
                let old = Date().addingTimeInterval(-3_600)
                #expect(await refused(["Stripe-Signature": Self.sign(body, secret: secret, at: old)], body) == .staleTimestamp)
            }
            let garbage = Array("not json".utf8)
            #expect(await refused(["Stripe-Signature": Self.sign(garbage, secret: secret)], garbage) == .invalidEvent)
            await #expect(throws: RailWebhooks.Failure.unknownRail("nope")) {
                try await webhooks.take(rail: "nope", headers: [:], body: [])
            }
            // Nothing was booked: the wallet was never created.
            await #expect(throws: LedgerError.self) { try await ledger.balance(of: wallet) }
        }
    }

    @Test func theProcessorsOwnDeliveriesAreTakenOverHTTP() async throws {
        try await MockProcessor.with { mock in
            let ledger = try await TestDatabase.ledger()
            let box = Mutex<RailWebhooks?>(nil)
            let router = Router()
            router.post("/hook/{rail}") { request, context -> Response in
                guard let webhooks = box.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
                let body = try await request.body.collect(upTo: 1 << 20)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                do throws(RailWebhooks.Failure) {
                    _ = try await webhooks.take(rail: context.parameters.get("rail") ?? "", headers: headers, body: Array(buffer: body))
                    return Response(status: .ok)
                } catch {
                    if case .invalid = error { return Response(status: .badRequest) }
                    return Response(status: .serviceUnavailable)
                }
            }
            let (ports, sink) = AsyncStream.makeStream(of: Int.self)
            let receiver = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { sink.yield($0.localAddress?.port ?? 0) }, logger: TestDatabase.logger)
            let group = ServiceGroup(configuration: .init(services: [receiver], logger: TestDatabase.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var iterator = ports.makeAsyncIterator()
                let port = await iterator.next() ?? 0
                defer { Task { await group.triggerGracefulShutdown() } }

                let tag = "card-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
                let endpoint = try await mock.post(
                    "/v1/webhook_endpoints", ["url": "http://127.0.0.1:\(port)/hook/\(tag)", "enabled_events[0]": "*"])
                let secret = try #require(endpoint["secret"] as? String)
                let rail = try CardRail(
                    configuration: RailConfiguration(
                        id: tag, kind: "card",
                        settings: [
                            "base_url": .string(mock.baseURL), "api_key": .string(MockProcessor.apiKey), "asset_prefix": .string(tag),
                            "webhook_secret": .string(secret),
                        ]), logger: TestDatabase.logger)
                let booker = RailBooker(ledger: ledger)
                try await booker.install(rail.descriptor)
                box.withLock { $0 = RailWebhooks(rails: [rail], booker: booker, logger: TestDatabase.logger) }

                let wallet = try AccountID("\(tag):agent:h")
                _ = try await rail.topUp(
                    wallet: wallet, amount: 2_500, currency: "usd", paymentMethod: "pm_card_visa", idempotencyKey: "\(tag)-h")
                // Deliveries are asynchronous and retried: wait for the wallet to be funded and
                // the charge's balance transaction to be booked.
                let asset = rail.descriptor.assets[0].id.rawValue
                var settled = false
                for _ in 0..<150 where !settled {
                    let funded = (try? await CardRailDayTests.balance(ledger, wallet.rawValue)) == "2500"
                    let cleared = (try? await CardRailDayTests.balance(ledger, "card:\(asset):clearing")) == "0"
                    let fees = (try? await CardRailDayTests.balance(ledger, "card:\(asset):fees")) ?? "0"
                    settled = funded && cleared && fees != "0"
                    if !settled { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(settled, "the processor's webhook deliveries did not book the top-up")
            }
        }
    }
}
