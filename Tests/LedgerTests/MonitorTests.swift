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

        // Each writer takes 300 out and puts it back, so the pool goes below 500 and back many times.
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

        // The crossings, from the pool's history: available (no holds here) after each entry.
        var entries: [Entry] = []
        var cursor: String?
        repeat {
            let page = try await b.ledger.entries(of: b.id("pool"), limit: 1_000, cursor: cursor)
            entries += page.items
            cursor = page.nextCursor
        } while cursor != nil
        entries.reverse()
        var crossings: [Int64] = []
        var below = false
        for entry in entries {
            let available = SignedAmount(entry.creditsPosted, minus: entry.debitsPosted)
            let now = available.isNegative || available.magnitude < UInt256(500)
            if now && !below { crossings.append(entry.version) }
            below = now
        }
        #expect(crossings.count >= 1)

        let fired = OutboxTests.mine(try await OutboxTests.drain(b.ledger, after: start), b).compactMap { event -> BalanceMonitor.Firing? in
            guard case .monitor(let firing) = event.subject else { return nil }
            return firing
        }
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
}
