import CardRail
import Foundation
import Ledger
import NIOHTTP1
import RailKit
import Reconciliation
import SettleTesting
import Testing

/// The cross-rail rule on the real rails: the card rail's payouts, made at the processor mock,
/// against the deposits the bank-file rail (the Python process rail) books from a CSV statement,
/// both configured from one rails file as a user writes it.
@Suite("Reconciliation across the card and bank-file rails", .timeLimit(.minutes(3)))
struct BankCounterpartTests {
    @Test func aPayoutThatNeverReachesTheBankFileIsABreakAfterItsSLA() async throws {
        try await CardProcessor.with { processor in
            let ledger = try await TestDatabase.ledger()
            let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("settle-bank-counterpart-\(tag)")
            let statements = scratch.appendingPathComponent("statements")
            try FileManager.default.createDirectory(at: statements, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }

            // Day D is the mock's next day: its automatic payout run at midnight finds nothing yet.
            let now = try await processor.call(.GET, "/_mock/clock")["now"] as? Int ?? 0
            let start = (now / 86_400 + 1) * 86_400
            func advance(hours: Int) async throws {
                try await processor.call(.POST, "/_mock/clock/advance", ["to": String(start + hours * 3_600)])
            }
            try await advance(hours: 1)
            let dayStart = Date(timeIntervalSince1970: TimeInterval(start))
            let day = try ReconciliationDay(dayStart.formatted(.iso8601.year().month().day().dateSeparator(.dash)))

            let (cardID, bankID) = ("card-\(tag)", "bank-\(tag)")
            // The processor puts the payout id on the bank transfer: the bank line's `reference`,
            // booked as `bank_reference`. The card rail books a payout as `paid_out`, whose own
            // reference is the payout's balance transaction and whose parent is the payout.
            let card: [String: Any] = [
                "id": cardID, "kind": "card",
                "settings": ["base_url": processor.baseURL, "api_key": CardProcessor.apiKey, "asset_prefix": "card\(tag)"],
                "reconciliation": [
                    "counterparts": [
                        [
                            "transition": "paid_out", "matched_by": "parent", "rail": bankID, "counterpart_transition": "received",
                            "reference_key": "bank_reference", "sla_seconds": 86_400,
                        ]
                    ]
                ],
            ]
            let bank: [String: Any] = [
                "id": bankID, "kind": "process",
                "settings": BankFileRailSettings.settings(
                    directory: statements.path, asset: "usd-bank-\(tag)", merchant: "merchant:\(tag)"),
            ]
            let railsFile = scratch.appendingPathComponent("rails.json")
            try JSONSerialization.data(withJSONObject: ["rails": [card, bank]]).write(to: railsFile)
            let configurations = try RailConfiguration.load(path: railsFile.path)
            let cardRail = try CardRail(configuration: configurations[0], logger: TestDatabase.logger)
            let bankRail = try await ProcessRail.launch(configurations[1], logger: TestDatabase.logger)
            do {
                let booker = RailBooker(ledger: ledger)
                try await booker.install(cardRail.descriptor)
                try await booker.install(bankRail.descriptor)

                // Four automatic payouts, each sweeping one card payment: three at 01:00, one at 20:00.
                var payouts: [(id: String, amount: Int)] = []
                for k in 1...4 {
                    if k == 4 { try await advance(hours: 20) }
                    _ = try await cardRail.topUp(
                        wallet: try AccountID("\(cardID):agent:\(k)"), amount: Int64(1_000 * k), currency: "usd",
                        paymentMethod: "pm_card_bypassPending", idempotencyKey: "\(tag)-\(k)")
                    let run = try await processor.call(.POST, "/_mock/payouts/run", ["currency": "usd"])
                    let swept = try #require((run["data"] as? [[String: Any]])?.first, "\(run)")
                    payouts.append((try #require(swept["id"] as? String), try #require(swept["amount"] as? Int)))
                }
                let cardSync = try await booker.sync(cardRail, pageSize: 50)
                #expect(cardSync.rejected.isEmpty, "\(cardSync.rejected)")

                // The merchant's statement: the first payout in full, the second short by 10, the
                // third and fourth not (yet); and a deposit that is no payout.
                let morning = dayStart.addingTimeInterval(9 * 3_600).formatted(.iso8601)
                try Data(
                    """
                    id,booked_at,amount,currency,direction,counterparty,reference
                    tx-1,\(morning),\(payouts[0].amount),USD,credit,STRIPE PAYOUT,\(payouts[0].id)
                    tx-2,\(morning),\(payouts[1].amount - 10),USD,credit,STRIPE PAYOUT,\(payouts[1].id)
                    tx-3,\(morning),5000,USD,credit,ACME Corp,INV-77

                    """.utf8
                ).write(to: statements.appendingPathComponent("\(day.date).csv"))
                let bankSync = try await booker.sync(bankRail)
                #expect(bankSync.rejected.isEmpty && bankSync.created == 6, "\(bankSync)")

                // 08:00 the next day: 31 hours after the first three payouts, 12 after the fourth.
                let asOf = dayStart.addingTimeInterval(32 * 3_600)
                let profile = try ReconciliationProfile.configured(for: cardRail.descriptor, settings: configurations[0].reconciliation)
                let reconciler = Reconciler(ledger: ledger)
                let store = ReconciliationStore(ledger: ledger)
                let inTransit = "card:\(cardRail.descriptor.assets[0].id.rawValue):in_transit"
                var previous: Int64?
                for _ in 0..<2 {
                    let run = try await reconciler.run(rail: cardRail, day: day, profile: profile, asOf: asOf)
                    #expect(run.status == .complete)
                    let breaks = try await store.breaks(run: run.id)
                    let found = Set(breaks.map { "\($0.code.rawValue):\($0.reference ?? "")" })
                    // The payouts are in transit at the cut-off: timing, inside the clearing SLA.
                    #expect(
                        found == [
                            "counterpart_mismatch:\(payouts[1].id)", "counterpart_missing:\(payouts[2].id)", "timing:\(payouts[3].id)",
                            "timing:\(inTransit)",
                        ], "\(breaks)")
                    let mismatch = breaks.first { $0.code == .counterpartMismatch }
                    #expect(mismatch?.railAmount == String(payouts[1].amount - 10) && mismatch?.ledgerAmount == String(payouts[1].amount))
                    #expect(run.counts["counterpart_missing"] == 1 && run.counts["counterpart_mismatch"] == 1 && !run.isClean)
                    // The first payout met in full leaves no break: the counts show it.
                    #expect(run.counts["counterparts_checked"] == 4 && run.counts["counterparts_met"] == 1, "\(run.counts)")
                    if let previous {
                        #expect(run.changes?.previousRun == previous)
                        #expect(run.changes?.new == [] && run.changes?.gone == [], "\(String(describing: run.changes))")
                    }
                    previous = run.id
                }
            } catch {
                await bankRail.shutdown()
                throw error
            }
            await bankRail.shutdown()
        }
    }
}
