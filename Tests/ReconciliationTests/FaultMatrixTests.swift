import Foundation
import Ledger
import PostgresNIO
import RailKit
import Reconciliation
import SettleTesting
import Testing

/// A seeded day of a fake rail with one fault of each kind: each produces exactly its break and
/// nothing else; the same day re-run gives the same result; a rail that fails leaves the run
/// incomplete; a killed run resumes without staging a row twice.
@Suite("Reconciliation fault matrix", .timeLimit(.minutes(3)))
struct FaultMatrixTests {
    static let day = try! ReconciliationDay("2026-11-20")
    /// Runs are aged as of 02:00 the next morning.
    static let asOf = day.cutoff.addingTimeInterval(2 * 3_600)
    static let profile = ReconciliationProfile(
        statementTransitions: ["received"], feeAccounts: ["fake:{asset}:fees"], clearingAccounts: ["fake:{asset}:clearing"],
        slaSeconds: 4 * 3_600, clearingSLASeconds: 4 * 3_600, feeAutoResolveTolerance: 5)

    /// A fresh rail id and asset, a ledger with the day booked, and the statement with its faults.
    struct Day {
        var rail: FakeRail
        var expected: Set<String>
        var asset: String
    }

    static func at(_ hour: Double) -> Date { day.start.addingTimeInterval(hour * 3_600) }

    static func seed(_ ledger: PostgresLedger, seed: UInt64 = 42) async throws -> Day {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let asset = try AssetID("fake\(tag)-usd")
        var rail = FakeRail(id: "fake-\(tag)", asset: asset)
        let booker = RailBooker(ledger: ledger)
        try await booker.install(rail.descriptor)

        func event(_ transition: String, _ reference: String, _ amount: UInt64, fee: UInt64 = 10, at: Date) -> RailEvent {
            RailEvent(
                transition: transition, reference: reference, asset: asset,
                amounts: ["amount": UInt256(amount), "fee": UInt256(fee), "net": UInt256(amount - fee)], occurredAt: at)
        }
        func record(_ reference: String, _ amount: UInt64, fee: UInt64 = 10, at: Date, asset other: String? = nil) throws -> StatementRecord
        {
            StatementRecord(
                reference: reference, type: "charge", direction: .inbound, asset: try AssetID(other ?? asset.rawValue),
                amount: UInt256(amount),
                fee: UInt256(fee), status: "available", occurredAt: at, details: ["source": "src_\(reference)"])
        }

        var events: [RailEvent] = []
        var records: [StatementRecord] = []
        // Five clean payments.
        for k in 1...5 {
            events += [
                event("received", "r\(k)", 1_000 + UInt64(k), at: at(9 + Double(k) / 10)),
                event("settled", "r\(k)", 1_000 + UInt64(k), at: at(10)),
            ]
            records.append(try record("r\(k)", 1_000 + UInt64(k), at: at(9 + Double(k) / 10)))
        }
        // Dropped by the ledger (a lost webhook): on the statement only.
        records.append(try record("r6", 600, at: at(11)))
        // Missing from the rail: booked only.
        events += [event("received", "r7", 700, at: at(11)), event("settled", "r7", 700, at: at(11))]
        // Duplicated by the rail.
        events += [event("received", "r8", 800, at: at(12)), event("settled", "r8", 800, at: at(12))]
        records += [try record("r8", 800, at: at(12)), try record("r8", 800, at: at(12))]
        // A partial capture booked in full: the amounts differ.
        events += [event("received", "r9", 1_000, at: at(13)), event("settled", "r9", 1_000, at: at(13))]
        records.append(try record("r9", 900, at: at(13)))
        // A fee difference of 2 (within the auto-resolution tolerance).
        events += [event("received", "r10", 1_000, fee: 30, at: at(14)), event("settled", "r10", 1_000, at: at(14))]
        records.append(try record("r10", 1_000, fee: 32, at: at(14)))
        // A late event: on the statement at 23:30, not booked yet: timing, not an error.
        records.append(try record("r11", 1_100, at: at(23.5)))
        // A record in an asset the rail does not have.
        records.append(try record("r12", 1_200, at: at(15), asset: "zzz\(tag)"))
        // A malformed record: zero amount.
        records.append(try record("r13", 0, fee: 0, at: at(15)))
        // Received early in the day and never settled: the clearing account is not back to zero.
        events.append(event("received", "r14", 1_400, at: at(8)))
        records.append(try record("r14", 1_400, at: at(8)))

        let outcomes = try await booker.book(events, on: rail.descriptor)
        let unbooked = outcomes.filter { !$0.isBooked }
        #expect(unbooked.isEmpty, "\(unbooked)")
        // Reordered: the rail lists its records in an order of its own.
        var generator = SeededGenerator(seed: seed)
        rail.records = records.shuffled(using: &generator)
        let expected: Set<String> = [
            "missing_in_ledger:r6", "missing_in_rail:r7", "duplicate:r8", "amount_mismatch:r9", "fee_mismatch:r10", "timing:r11",
            "unknown_asset:r12", "malformed_record:r13", "clearing_not_zero:fake:\(asset.rawValue):clearing",
        ]
        return Day(rail: rail, expected: expected, asset: asset.rawValue)
    }

    static func found(_ breaks: [ReconciliationBreak]) -> Set<String> {
        Set(breaks.map { "\($0.code.rawValue):\($0.reference ?? "")" })
    }

    @Test func eachFaultIsExactlyItsBreakAndARerunIsTheSame() async throws {
        let ledger = try await TestDatabase.ledger()
        let day = try await Self.seed(ledger)
        let reconciler = Reconciler(ledger: ledger, pageSize: 3)
        let store = ReconciliationStore(ledger: ledger)

        let first = try await reconciler.run(rail: day.rail, day: Self.day, profile: Self.profile, asOf: Self.asOf)
        #expect(first.status == .complete)
        let breaks = try await store.breaks(run: first.id)
        #expect(Self.found(breaks) == day.expected)
        #expect(first.counts["statement_rows"] == 14)
        #expect(first.counts["ledger_rows"] == 10)
        // r1–r5, r8 and r14 agree; r9 and r10 matched by key but disagree.
        #expect(first.counts["matched"] == 7)
        #expect(!first.isClean)
        #expect(first.changes?.previousRun == nil)

        // The fee difference went to the suspense account, with its audit trail.
        let feeBreak = breaks.first { $0.code == .feeMismatch }
        let fee = try #require(feeBreak)
        #expect(fee.resolution?.kind == .auto)
        let suspense = try AccountID("recon:\(day.asset):suspense")
        #expect(try await ledger.balance(of: suspense).posted.description == "-2")
        let mismatch = breaks.first { $0.code == .amountMismatch }
        let evidence = try #require(mismatch)
        #expect(evidence.railAmount == "900" && evidence.ledgerAmount == "1000")

        // The same day again: the same breaks, nothing new or gone, nothing booked twice.
        let second = try await reconciler.run(rail: day.rail, day: Self.day, profile: Self.profile, asOf: Self.asOf)
        #expect(second.id != first.id)
        #expect(Self.found(try await store.breaks(run: second.id)) == day.expected)
        #expect(second.changes == ReconciliationRun.Changes(previousRun: first.id, new: [], gone: []))
        #expect(try await ledger.balance(of: suspense).posted.description == "-2")
        let open = try await store.breaks(run: second.id, openOnly: true)
        #expect(Self.found(open) == day.expected.subtracting(["timing:r11", "fee_mismatch:r10"]))

        // A day later the late event is past its SLA: it becomes a break, reported as a change.
        let later = try await reconciler.run(
            rail: day.rail, day: Self.day, profile: Self.profile, asOf: Self.asOf.addingTimeInterval(86_400))
        #expect(later.changes?.new == ["missing_in_ledger:\(day.asset):r11"])
        #expect(later.changes?.gone == ["timing:\(day.asset):r11"])
    }

    @Test func aRailThatFailsLeavesTheRunIncomplete() async throws {
        let ledger = try await TestDatabase.ledger()
        var day = try await Self.seed(ledger)
        day.rail.behaviour = .failAt(page: 2)
        let run = try await Reconciler(ledger: ledger, pageSize: 3).run(
            rail: day.rail, day: Self.day, profile: Self.profile, asOf: Self.asOf)
        #expect(run.status == .incomplete)
        #expect(!run.isClean)
        #expect(run.error?.contains("the rail is down") == true)
        #expect(try await ReconciliationStore(ledger: ledger).breaks(run: run.id).isEmpty)
    }

    @Test func aKilledRunResumesWithoutStagingTwice() async throws {
        let ledger = try await TestDatabase.ledger()
        var day = try await Self.seed(ledger)
        let healthy = day.rail
        day.rail.behaviour = .hangAt(page: 2)
        let hanging = day.rail
        let task = Task {
            try await Reconciler(ledger: ledger, pageSize: 3).run(rail: hanging, day: Self.day, profile: Self.profile, asOf: Self.asOf)
        }
        // Wait until two pages are committed, then kill the run.
        let store = ReconciliationStore(ledger: ledger)
        let deadline = ContinuousClock.now + .seconds(60)
        var staged: ReconciliationRun?
        while ContinuousClock.now < deadline {
            staged = try await store.runs(rail: healthy.descriptor.id).first
            if let staged, staged.statementRows >= 6 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(staged?.statementRows == 6)
        task.cancel()
        await #expect(throws: ReconciliationError.self) { try await task.value }
        let killed = try #require(try await store.runs(rail: healthy.descriptor.id).first)
        #expect(killed.status == .running)

        let resumed = try await Reconciler(ledger: ledger, pageSize: 3).run(
            rail: healthy, day: Self.day, profile: Self.profile, asOf: Self.asOf)
        #expect(resumed.id == killed.id)
        #expect(resumed.status == .complete)
        #expect(resumed.statementRows == 14)
        #expect(Self.found(try await store.breaks(run: resumed.id)) == day.expected)
    }

    @Test func aManualResolutionIsAuditedAndCoversLaterRuns() async throws {
        let ledger = try await TestDatabase.ledger()
        let day = try await Self.seed(ledger)
        let reconciler = Reconciler(ledger: ledger, pageSize: 3)
        let store = ReconciliationStore(ledger: ledger)
        let run = try await reconciler.run(rail: day.rail, day: Self.day, profile: Self.profile, asOf: Self.asOf)
        let found = try await store.breaks(run: run.id).first { $0.code == .amountMismatch }
        let mismatch = try #require(found)
        let clearing = try AccountID("fake:\(day.asset):clearing")
        let suspense = try AccountID("recon:\(day.asset):suspense")
        _ = try await ledger.createAccounts([Account(id: suspense, asset: try AssetID(day.asset), normalSide: .debit)])
        let adjusting = NewTransfer(
            id: try TransferID("recon:resolve:\(mismatch.id)"), .post([.debit(clearing, 100), .credit(suspense, 100)]))
        let resolved = try await store.resolve(
            mismatch.id, note: "partial capture: 100 released", actor: "ops@example", transfer: adjusting)
        #expect(resolved.resolution?.kind == .transfer)
        #expect(resolved.resolution?.actor == "ops@example")
        #expect(resolved.resolution?.transferID == "recon:resolve:\(mismatch.id)")
        await #expect(throws: ReconciliationError.self) {
            try await store.resolve(mismatch.id, note: "again", actor: "ops@example")
        }
        let rerun = try await reconciler.run(rail: day.rail, day: Self.day, profile: Self.profile, asOf: Self.asOf)
        let rerunBreak = try await store.breaks(run: rerun.id).first { $0.code == .amountMismatch }
        let again = try #require(rerunBreak)
        #expect(again.resolution?.note == "partial capture: 100 released")
    }
}

/// A deterministic generator (SplitMix64), so that a seeded day is the same day every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
