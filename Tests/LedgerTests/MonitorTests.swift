import Foundation
import Ledger
import SettleTesting
import Testing

/// Balance monitors (decision 0039): a condition on an account's balance fires one outbox event
/// each time a transfer makes it true after the balance before it left it false.
@Suite("Balance monitors")
struct MonitorTests {
    @Test func aMonitorFiresOncePerCrossingUnderSixteenConcurrentWriters() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "pool", "sink")
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("pool"), 1_000)])
        let created = try await b.ledger.createMonitor(
            BalanceMonitor(id: "\(b.prefix)-low", account: b.id("pool"), measure: .available, operator: .lt, threshold: SignedAmount(500)))
        #expect(created.created)
        #expect(!created.holdsNow)
        let start = try await b.ledger.sequenceEvents()
        try await Self.oscillate(b)

        // The crossings, from the pool's history: available (no holds here) after each entry.
        let crossings = Self.firings(in: try await Self.history(b, "pool"), below: SignedAmount(500), rearm: nil)
        #expect(crossings.count >= 1)

        let fired = try await Self.fired(b, after: start)
        #expect(fired.map(\.accountVersion) == crossings)
        #expect(Set(fired.map(\.monitor)) == ["\(b.prefix)-low"])
        let values = fired.map(\.value)
        #expect(values.filter { !$0.isNegative && $0.magnitude >= UInt256(500) }.isEmpty, "\(values)")
        // Each firing names the transfer whose entry crossed.
        for firing in fired {
            let transfer = try #require(try await b.ledger.transfer(firing.transfer))
            #expect(transfer.id.rawValue.hasPrefix("\(b.prefix):out"))
        }
    }

    @Test func aMonitorOnAHoldCountsItInAvailableButNotInPosted() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent", "merchant")
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)])
        for (id, measure) in [("avail", BalanceMonitor.Measure.available), ("posted", .posted)] {
            let m = BalanceMonitor(
                id: "\(b.prefix)-\(id)", account: b.id("agent"), measure: measure, operator: .lte, threshold: SignedAmount(400))
            #expect(try await b.ledger.createMonitor(m).created)
        }
        let start = try await b.ledger.sequenceEvents()
        let hold = NewTransfer(id: b.tid("hold"), .hold([.debit(b.id("agent"), 600), .credit(b.id("merchant"), 600)], timeout: nil))
        #expect(try await b.ledger.post(hold).isCreated)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("post"), .postHold(b.tid("hold"), amount: nil))).isCreated)
        let fired = OutboxTests.mine(try await OutboxTests.drain(b.ledger, after: start), b).compactMap { event -> (String, String)? in
            guard case .monitor(let firing) = event.subject else { return nil }
            return (String(firing.monitor.dropFirst(b.prefix.count + 1)), String(firing.transfer.rawValue.dropFirst(b.prefix.count + 1)))
        }
        #expect(fired.map(\.0) == ["avail", "posted"])
        #expect(fired.map(\.1) == ["hold", "post"])
    }

    @Test func badMonitorsAreRefusedWithTheirCode() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent")
        let unknown = BalanceMonitor(
            id: "\(b.prefix)-x", account: b.id("nobody"), measure: .available, operator: .lt, threshold: SignedAmount(1))
        do {
            _ = try await b.ledger.createMonitor(unknown)
            Issue.record("a monitor on an unknown account was created")
        } catch { #expect(error.code == .accountNotFound) }

        let m = BalanceMonitor(
            id: "\(b.prefix)-m", account: b.id("agent"), measure: .posted, operator: .gt, threshold: SignedAmount(5, negative: true))
        let first = try await b.ledger.createMonitor(m)
        #expect(first.created && first.holdsNow, "0 > -5 holds at once")
        let again = try await b.ledger.createMonitor(m)
        #expect(!again.created)
        #expect(again.monitor.threshold == SignedAmount(5, negative: true))
        var other = m
        other.threshold = SignedAmount(6)
        do {
            _ = try await b.ledger.createMonitor(other)
            Issue.record("the same id with another condition was accepted")
        } catch { #expect(error.code == .existsWithDifferentFields) }
        do {
            _ = try await b.ledger.createMonitor(
                BalanceMonitor(id: "bad id", account: b.id("agent"), measure: .posted, operator: .gt, threshold: .init(0)))
            Issue.record("a malformed id was accepted")
        } catch { #expect(error.code == .malformedID) }
        #expect(try await b.ledger.monitors(accountPrefix: b.prefix + ":").map(\.id) == ["\(b.prefix)-m"])
        try await b.ledger.deleteMonitor(m.id)
        do {
            try await b.ledger.deleteMonitor(m.id)
            Issue.record("a deleted monitor was deleted again")
        } catch { #expect(error.code == .monitorNotFound) }
    }

    /// With a re-arm level, a monitor fires once and then only after the balance went back past
    /// that level: 16 writers each take 300 out of a pool of 1,000 and put it back, so the pool
    /// oscillates between 1,000 and below the threshold of 500. The monitor without re-arm fires on
    /// every crossing, the one with re-arm 1,000 only when the pool was whole in between; both
    /// exactly as the pool's history says, in the same transactions.
    @Test func aRearmedMonitorFiresOnceUntilTheBalanceIsBackUnderSixteenConcurrentWriters() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "pool", "sink")
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("pool"), 1_000)])
        for (name, rearm) in [("every", nil), ("once", SignedAmount(1_000))] as [(String, SignedAmount?)] {
            let monitor = BalanceMonitor(
                id: "\(b.prefix)-\(name)", account: b.id("pool"), measure: .available, operator: .lt, threshold: SignedAmount(500),
                rearm: rearm)
            #expect(try await b.ledger.createMonitor(monitor).created)
        }
        let start = try await b.ledger.sequenceEvents()
        try await Self.oscillate(b)

        let history = try await Self.history(b, "pool")
        let crossings = Self.firings(in: history, below: SignedAmount(500), rearm: nil)
        let rearmed = Self.firings(in: history, below: SignedAmount(500), rearm: SignedAmount(1_000))
        #expect(rearmed.count >= 1 && rearmed.count <= crossings.count)
        let fired = try await Self.fired(b, after: start)
        #expect(fired.filter { $0.monitor == "\(b.prefix)-every" }.map(\.accountVersion) == crossings)
        #expect(fired.filter { $0.monitor == "\(b.prefix)-once" }.map(\.accountVersion) == rearmed)
        #expect(try await b.ledger.monitor("\(b.prefix)-once")?.rearm == SignedAmount(1_000))
    }

    /// One writer, step by step: below, up but not past the re-arm level, below again (no firing),
    /// past the re-arm level, below (fires); and the same for a `gte` monitor on the sink.
    @Test func aRearmedMonitorStepByStep() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "pool", "sink")
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("pool"), 1_000)])
        _ = try await b.ledger.createMonitor(
            BalanceMonitor(
                id: "\(b.prefix)-low", account: b.id("pool"), measure: .available, operator: .lt, threshold: SignedAmount(500),
                rearm: SignedAmount(800)))
        _ = try await b.ledger.createMonitor(
            BalanceMonitor(
                id: "\(b.prefix)-high", account: b.id("sink"), measure: .posted, operator: .gte, threshold: SignedAmount(600),
                rearm: SignedAmount(300)))
        let start = try await b.ledger.sequenceEvents()
        #expect(try await b.ledger.monitor("\(b.prefix)-low")?.armed == true)
        // pool: 1000 → 400 (fires) → 600 → 400 → 900 (re-armed) → 300 (fires); the sink mirrors it.
        var armed: [Bool?] = []
        for (k, delta) in [-600, 200, -200, 500, -600].enumerated() {
            let amount = UInt256(UInt64(abs(delta)))
            let postings: [Posting] =
                delta < 0
                ? [.debit(b.id("pool"), amount), .credit(b.id("sink"), amount)]
                : [.debit(b.id("sink"), amount), .credit(b.id("pool"), amount)]
            #expect(try await b.post("step\(k)", postings).isCreated)
            armed.append(try await b.ledger.monitor("\(b.prefix)-low")?.armed)
        }
        let fired = try await Self.fired(b, after: start).map {
            "\($0.monitor.dropFirst(b.prefix.count + 1)) \($0.transfer.rawValue.dropFirst(b.prefix.count + 1))"
        }
        // The sink: 600 (fires) → 400 → 600 → 100 (re-armed) → 700 (fires).
        #expect(fired == ["low step0", "high step0", "low step4", "high step4"])
        #expect(armed == [false, false, false, true, false])
    }

    @Test func aRearmLevelMustBeBeyondTheThreshold() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent")
        let cases: [(BalanceMonitor.Operator, Int)] = [(.lt, 100), (.lt, 50), (.lte, 100), (.gt, 100), (.gt, 150), (.gte, 100)]
        for (k, (op, rearm)) in cases.enumerated() {
            let m = BalanceMonitor(
                id: "\(b.prefix)-bad\(k)", account: b.id("agent"), measure: .available, operator: op, threshold: SignedAmount(100),
                rearm: SignedAmount(UInt256(UInt64(rearm))))
            do {
                _ = try await b.ledger.createMonitor(m)
                Issue.record("\(op) with re-arm \(rearm) was accepted")
            } catch { #expect(error.code == .invalidRearm) }
        }
        let m = BalanceMonitor(
            id: "\(b.prefix)-ok", account: b.id("agent"), measure: .available, operator: .gt, threshold: SignedAmount(100),
            rearm: SignedAmount(5, negative: true))
        #expect(try await b.ledger.createMonitor(m).created)
        #expect(try await b.ledger.createMonitor(m).created == false)
        var other = m
        other.rearm = nil
        do {
            _ = try await b.ledger.createMonitor(other)
            Issue.record("the same id with another re-arm level was accepted")
        } catch { #expect(error.code == .existsWithDifferentFields) }
        #expect(try await b.ledger.monitors(accountPrefix: b.prefix + ":").map(\.rearm) == [SignedAmount(5, negative: true)])
    }

    /// Each of 16 writers takes 300 out of the pool and puts it back, six times.
    static func oscillate(_ b: Books) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<16 {
                group.addTask {
                    for k in 0..<6 {
                        _ = try await b.post("out\(w)-\(k)", [.debit(b.id("pool"), 300), .credit(b.id("sink"), 300)])
                        _ = try await b.post("in\(w)-\(k)", [.debit(b.id("sink"), 300), .credit(b.id("pool"), 300)])
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// The account's entries, oldest first.
    static func history(_ b: Books, _ account: String) async throws -> [Entry] {
        var entries: [Entry] = []
        var cursor: String?
        repeat {
            let page = try await b.ledger.entries(of: b.id(account), limit: 1_000, cursor: cursor)
            entries += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return entries.reversed()
    }

    /// The versions at which an `lt threshold` monitor on a credit-normal account without holds
    /// fires, with or without a re-arm level.
    static func firings(in entries: [Entry], below threshold: SignedAmount, rearm: SignedAmount?) -> [Int64] {
        var versions: [Int64] = []
        var below = false
        var armed = true
        for entry in entries {
            let available = SignedAmount(entry.creditsPosted, minus: entry.debitsPosted)
            let now = available < threshold
            if let rearm, !armed, available >= rearm { armed = true }
            if now && !below && armed {
                versions.append(entry.version)
                armed = rearm == nil
            }
            below = now
        }
        return versions
    }

    static func fired(_ b: Books, after start: Int64) async throws -> [BalanceMonitor.Firing] {
        OutboxTests.mine(try await OutboxTests.drain(b.ledger, after: start), b).compactMap { event -> BalanceMonitor.Firing? in
            guard case .monitor(let firing) = event.subject else { return nil }
            return firing
        }
    }
}
