import Foundation
import Ledger
import RailKit
import Reconciliation
import SettleTesting
import Testing

/// The cross-rail check: each payout one rail books must be met by the other rail's deposit that
/// names it (a card payout by the bank file's line), with the same amount, within the rule's SLA.
@Suite("Reconciliation across rails", .timeLimit(.minutes(2)))
struct CounterpartTests {
    static let day = try! ReconciliationDay("2026-11-21")
    /// 14:00 the next day: 28 hours after a 10:00 payout, 15 after a 23:00 one (the SLA is 20).
    static let asOf = day.cutoff.addingTimeInterval(14 * 3_600)

    static func at(_ hour: Double) -> Date { day.start.addingTimeInterval(hour * 3_600) }

    @Test func aPayoutThatNeverReachesTheBankIsABreakAfterItsSLA() async throws {
        let ledger = try await TestDatabase.ledger()
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let (cardAsset, bankAsset) = (try AssetID("cp\(tag)-usd"), try AssetID("bk\(tag)-usd"))
        var card = FakeRail(id: "card-\(tag)", asset: cardAsset)
        let bank = FakeRail(id: "bank-\(tag)", asset: bankAsset)
        let booker = RailBooker(ledger: ledger)
        try await booker.install(card.descriptor)
        try await booker.install(bank.descriptor)

        func event(_ transition: String, _ reference: String, _ amount: UInt64, _ asset: AssetID, at: Date, names payout: String? = nil)
            -> RailEvent
        {
            RailEvent(
                transition: transition, reference: reference, asset: asset,
                amounts: ["amount": UInt256(amount), "fee": 1, "net": UInt256(amount - 1)], occurredAt: at,
                metadata: payout.map { ["bank_reference": .string($0)] } ?? [:])
        }
        // `settled` stands for the payout to the bank: p1 arrives in full, p2 short by 10, p3
        // never, p4 is too recent to say.
        var cardEvents: [RailEvent] = []
        var records: [StatementRecord] = []
        for (k, amount, hour) in [(1, 1_000, 9.0), (2, 2_000, 9.5), (3, 3_000, 10.0), (4, 4_000, 23.0)] as [(Int, UInt64, Double)] {
            cardEvents += [
                event("received", "p\(k)", amount, cardAsset, at: Self.at(hour - 1)),
                event("settled", "p\(k)", amount, cardAsset, at: Self.at(hour)),
            ]
            records.append(
                StatementRecord(
                    reference: "p\(k)", type: "charge", direction: .inbound, asset: cardAsset, amount: UInt256(amount), fee: 1,
                    status: "available", occurredAt: Self.at(hour - 1), details: [:]))
        }
        let cardUnbooked = try await booker.book(cardEvents, on: card.descriptor).filter { !$0.isBooked }
        #expect(cardUnbooked.isEmpty, "\(cardUnbooked)")
        card.records = records
        let bankEvents = [
            event("received", "b1", 1_000, bankAsset, at: Self.at(20), names: "p1"),
            event("received", "b2", 1_990, bankAsset, at: Self.at(21), names: "p2"),
            // A deposit naming nothing of the card rail's: no effect on it.
            event("received", "b3", 3_000, bankAsset, at: Self.at(21), names: "other"),
        ]
        let bankUnbooked = try await booker.book(bankEvents, on: bank.descriptor).filter { !$0.isBooked }
        #expect(bankUnbooked.isEmpty, "\(bankUnbooked)")

        let settings = try JSONDecoder().decode(
            Metadata.self,
            from: Data(
                """
                {"statement_transitions": ["received"], "counterparts": [{"transition": "settled", "rail": "\(bank.descriptor.id)",
                  "counterpart_transition": "received", "reference_key": "bank_reference", "sla_seconds": 72000}]}
                """.utf8))
        let profile = try ReconciliationProfile.configured(for: card.descriptor, settings: settings)
        let run = try await Reconciler(ledger: ledger).run(rail: card, day: Self.day, profile: profile, asOf: Self.asOf)
        let breaks = try await ReconciliationStore(ledger: ledger).breaks(run: run.id)
        let found = Set(breaks.map { "\($0.code.rawValue):\($0.reference ?? "")" })
        #expect(found == ["counterpart_mismatch:p2", "counterpart_missing:p3", "timing:p4"], "\(breaks)")
        let mismatch = try #require(breaks.first { $0.code == .counterpartMismatch })
        #expect(mismatch.railAmount == "1990" && mismatch.ledgerAmount == "2000")
        guard case .object(let evidence) = mismatch.evidence, case .array(let counterpart)? = evidence["counterpart"],
            case .object(let row)? = counterpart.first
        else {
            Issue.record("no counterpart evidence: \(mismatch.evidence)")
            return
        }
        #expect(row["transfer_id"] == .string("\(bank.descriptor.id):received:b2"))
        #expect(run.counts["counterpart_missing"] == 1 && !run.isClean)
    }

    @Test func aRuleMustNameATransitionOfTheRailAndEveryField() throws {
        let card = FakeRail(id: "card", asset: try AssetID("usd-card"))
        func configured(_ rule: String) throws(ReconciliationError) -> ReconciliationProfile {
            let settings = try! JSONDecoder().decode(Metadata.self, from: Data(#"{"counterparts": [\#(rule)]}"#.utf8))
            return try ReconciliationProfile.configured(for: card.descriptor, settings: settings)
        }
        let good =
            #"{"transition": "settled", "rail": "bank", "counterpart_transition": "received", "reference_key": "k", "sla_seconds": 60}"#
        #expect(try configured(good).counterparts.map(\.matchedBy) == [.reference])
        let byParent = good.replacingOccurrences(of: "}", with: #", "matched_by": "parent"}"#)
        #expect(try configured(byParent).counterparts.map(\.matchedBy) == [.parent])
        for (rule, message) in [
            (good.replacingOccurrences(of: "\"settled\"", with: "\"paid\""), "counterparts[0].transition names \"paid\""),
            (good.replacingOccurrences(of: ", \"sla_seconds\": 60", with: ""), "counterparts[0].sla_seconds is required"),
            (good.replacingOccurrences(of: "\"k\"", with: "\"\""), "counterparts[0].reference_key must be a non-empty string"),
            (good.replacingOccurrences(of: "\"rail\"", with: "\"rails\""), "counterparts[0].rails is not a setting"),
            (
                good.replacingOccurrences(of: "}", with: #", "matched_by": "payout"}"#),
                "counterparts[0].matched_by must be one of reference, parent"
            ),
            ("[]", "counterparts[0] must be an object"),
        ] {
            #expect(throws: ReconciliationError.self, "\(rule)") { try configured(rule) }
            do {
                _ = try configured(rule)
            } catch {
                #expect(error.message.contains(message), "\(error.message)")
            }
        }
    }
}
