import CardRail
import Foundation
import Ledger
import NIOHTTP1
import RailKit
import Reconciliation
import SettleTesting
import Testing

/// End to end against the card rail and the processor mock: the processor's balance transactions
/// against what the rail booked, the processor's balance against the ledger's, and a refund the
/// ledger has not pulled yet.
@Suite("Card reconciliation", .timeLimit(.minutes(3)))
struct CardReconciliationTests {
    @Test func aRefundNotPulledYetIsMissingAndDriftsUntilItIsBooked() async throws {
        try await CardProcessor.with { processor in
            let ledger = try await TestDatabase.ledger()
            let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
            let rail = try CardRail(
                configuration: RailConfiguration(
                    id: "card-\(tag)", kind: "card",
                    settings: [
                        "base_url": .string(processor.baseURL), "api_key": .string(CardProcessor.apiKey),
                        "asset_prefix": .string("card\(tag)"),
                    ]), logger: TestDatabase.logger)
            let booker = RailBooker(ledger: ledger)
            try await booker.install(rail.descriptor)
            let asset = rail.descriptor.assets[0].id.rawValue

            // Keep the whole test inside one day of the mock's clock.
            let clock = try await processor.call(.GET, "/_mock/clock")
            var now = clock["now"] as? Int ?? 0
            if now % 86_400 > 86_400 - 600 {
                now = (now / 86_400 + 1) * 86_400 + 60
                try await processor.call(.POST, "/_mock/clock/advance", ["to": String(now)])
            }
            let day = try ReconciliationDay(
                Date(timeIntervalSince1970: TimeInterval(now)).formatted(.iso8601.year().month().day().dateSeparator(.dash)))

            let wallet = try AccountID("card-\(tag):agent:a")
            let topUp = try await rail.topUp(
                wallet: wallet, amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa", idempotencyKey: "\(tag)-topup")
            let synced = try await booker.sync(rail, pageSize: 50)
            #expect(synced.rejected.isEmpty, "\(synced.rejected)")
            // The refund happens at the processor; the ledger has not pulled it.
            let refund = try await processor.call(.POST, "/v1/refunds", ["payment_intent": topUp.id, "amount": "500"])
            let refundTxn = try #require(refund["balance_transaction"] as? String)

            let reconciler = Reconciler(ledger: ledger, pageSize: 2)
            let store = ReconciliationStore(ledger: ledger)
            // Two days later the missing refund is past the card rail's one-day SLA.
            let asOf = day.cutoff.addingTimeInterval(2 * 86_400)
            let first = try await reconciler.run(rail: rail, day: day, asOf: asOf)
            #expect(first.status == .complete)
            #expect(first.counts["drift_checks"] == 1)
            let breaks = try await store.breaks(run: first.id)
            let found = Set(breaks.map { "\($0.code.rawValue):\($0.reference ?? "")" })
            // The processor's pending balance waits for availability: timing, inside the clearing SLA.
            #expect(found == ["missing_in_ledger:\(refundTxn)", "drift:\(asset)", "timing:card:\(asset):pending"])
            let driftBreak = breaks.first { $0.code == .drift }
            let pending = breaks.first { $0.code == .timing }?.ledgerAmount.flatMap { Int($0) }
            let drift = try #require(driftBreak)
            let net = try #require(pending)
            #expect(drift.railAmount == String(net - 500) && drift.ledgerAmount == String(net))

            // The next pull books the refund: the day reconciles, and the run says what went away.
            let again = try await booker.sync(rail, pageSize: 50)
            #expect(again.rejected.isEmpty, "\(again.rejected)")
            let second = try await reconciler.run(rail: rail, day: day, asOf: asOf)
            #expect(second.isClean)
            let remaining = Set(try await store.breaks(run: second.id).map { "\($0.code.rawValue):\($0.reference ?? "")" })
            #expect(remaining == ["timing:card:\(asset):pending"])
            #expect(Set(second.changes?.gone ?? []) == ["missing_in_ledger:\(asset):\(refundTxn)", "drift:\(asset):\(asset)"])
        }
    }
}
