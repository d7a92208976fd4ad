import Foundation
import Ledger
import SettleTesting
import Testing

/// The event outbox (decision 0039): every write is an event, written in its own transaction and
/// numbered in commit order, densely, so a consumer reading after its last position misses nothing
/// and sees each account's events in the order they were recorded.
@Suite("Event outbox")
struct OutboxTests {
    /// Every event after `after` up to the head at the time of the last read.
    static func drain(_ ledger: PostgresLedger, after: Int64) async throws -> [LedgerEvent] {
        var events: [LedgerEvent] = []
        var cursor = after
        while true {
            let page = try await ledger.events(after: cursor, limit: 500)
            events += page.events
            cursor = page.next
            if cursor == page.head { return events }
        }
    }

    static func mine(_ events: [LedgerEvent], _ b: Books) -> [LedgerEvent] {
        events.filter { event in event.accounts.contains { $0.rawValue.hasPrefix(b.prefix + ":") } }
    }

    @Test func everyKindOfWriteIsOneEventInTheOrderItHappened() async throws {
        let b = try await Books.make()
        let start = try await b.ledger.sequenceEvents()
        try await b.accounts("@world", "agent!", "merchant")
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)])
        let hold: (String, Int64?) -> NewTransfer = { id, timeout in
            NewTransfer(id: b.tid(id), .hold([.debit(b.id("agent"), 100), .credit(b.id("merchant"), 100)], timeout: timeout))
        }
        #expect(try await b.ledger.post(hold("h1", nil)).isCreated)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("p1"), .postHold(b.tid("h1"), amount: nil))).isCreated)
        #expect(try await b.ledger.post(hold("h2", nil)).isCreated)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("v2"), .voidHold(b.tid("h2")))).isCreated)
        _ = try await b.post("tip", [.debit(b.id("@world"), 5), .credit(b.id("merchant"), 5)])
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("r1"), .reverse(b.tid("tip")))).isCreated)
        let rail = NewTransfer(
            id: b.tid("card"), .post([.debit(b.id("@world"), 7), .credit(b.id("merchant"), 7)]),
            railReference: .init(rail: "card", reference: "\(b.prefix)-ch_1"))
        #expect(try await b.ledger.post(rail).isCreated)
        #expect(try await b.ledger.post(hold("h3", 1)).isCreated)
        try await Task.sleep(for: .milliseconds(1_100))
        _ = try await b.ledger.expireHolds()
        try await b.ledger.closeAccount(b.id("merchant"))
        // A retry writes nothing, so it is no event.
        #expect(try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)]).isExists)

        let events = Self.mine(try await Self.drain(b.ledger, after: start), b)
        let seen = events.map { event -> String in
            switch event.subject {
            case .transfer(let t): "\(event.kind.rawValue) \(t.id.rawValue.dropFirst(b.prefix.count + 1))"
            case .account(let a): "\(event.kind.rawValue) \(a.id.rawValue.dropFirst(b.prefix.count + 1))"
            case .monitor(let m): "\(event.kind.rawValue) \(m.monitor)"
            }
        }
        let expiry = try #require(events.first { $0.kind == .transferExpired })
        guard case .transfer(let expired) = expiry.subject else { Issue.record("not a transfer"); return }
        #expect(
            seen == [
                "account.created @world", "account.created agent", "account.created merchant", "transfer.created fund",
                "transfer.created h1", "transfer.posted p1", "transfer.created h2", "transfer.voided v2",
                "transfer.created tip", "transfer.reversed r1", "rail_event.booked card", "transfer.created h3",
                "transfer.expired \(expired.id.rawValue.dropFirst(b.prefix.count + 1))", "account.closed merchant",
            ])
        #expect(expired.parent == b.tid("h3"))
        // The transfer is as recorded, with its lines.
        guard case .transfer(let fund) = events[3].subject else { Issue.record("not a transfer"); return }
        #expect(fund.lines.count == 2)
        #expect(fund.lines.map(\.amount) == [SignedAmount(1_000), SignedAmount(1_000)])
        // Positions only grow.
        #expect(zip(events, events.dropFirst()).filter { $0.position >= $1.position }.isEmpty)
    }

    @Test func positionsAreDenseAndEachAccountsEventsKeepItsOrderUnderConcurrentWriters() async throws {
        let b = try await Books.make()
        let agents = (0..<16).map { "agent\($0)!" }
        try await b.ledger.createAccounts(
            (["@world", "merchant"] + agents).map { name in
                let clean = name.replacingOccurrences(of: "!", with: "")
                return Account(
                    id: b.id(clean), asset: b.asset, normalSide: clean.hasPrefix("@") ? .debit : .credit,
                    limit: name.hasSuffix("!") ? .debitsMustNotExceedCredits : .none)
            })
        for (i, agent) in agents.enumerated() {
            let name = agent.replacingOccurrences(of: "!", with: "")
            _ = try await b.post("fund\(i)", [.debit(b.id("@world"), 1_000_000), .credit(b.id(name), 1_000_000)])
        }
        let start = try await b.ledger.sequenceEvents()

        // 16 writers pay one merchant (not limited: locked after the agents, in phase B of the
        // posting function) while a consumer reads behind them.
        let perWriter = 40
        async let consumed: [LedgerEvent] = {
            var events: [LedgerEvent] = []
            var cursor = start
            var ours = 0
            while ours < 16 * perWriter {
                let page = try await b.ledger.events(after: cursor, limit: 200)
                events += page.events
                ours += Self.mine(page.events, b).count { $0.kind == .transferCreated }
                cursor = page.next
                if page.events.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            }
            return events
        }()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<16 {
                group.addTask {
                    for k in 0..<perWriter {
                        let r = try await b.post(
                            "pay\(w)-\(k)",
                            [.debit(b.id("agent\(w)"), UInt256(UInt64(1 + k))), .credit(b.id("merchant"), UInt256(UInt64(1 + k)))])
                        #expect(r.isCreated)
                    }
                }
            }
            try await group.waitForAll()
        }
        let events = try await consumed

        // Dense: the consumer saw every position after its start, once.
        #expect(events.map(\.position) == Array(start + 1...start + Int64(events.count)))
        let ours = Self.mine(events, b)
        #expect(ours.count == 16 * perWriter)
        #expect(Set(ours.map(\.id)).count == ours.count)

        // The merchant's events are in the order of its entries.
        let merchantOrder = ours.compactMap { event -> TransferID? in
            guard case .transfer(let t) = event.subject else { return nil }
            return t.id
        }
        var entries: [TransferID] = []
        var cursor: String?
        repeat {
            let page = try await b.ledger.entries(of: b.id("merchant"), limit: 1_000, cursor: cursor)
            entries += page.items.map(\.transfer)
            cursor = page.nextCursor
        } while cursor != nil
        // (Entries are read newest first.)
        let recorded = Array(entries.reversed())
        #expect(merchantOrder.count == recorded.count)
        let firstOutOfOrder = zip(merchantOrder, recorded).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(
            firstOutOfOrder == nil,
            "event \(firstOutOfOrder?.offset ?? 0) of the merchant is \(firstOutOfOrder?.element.0.rawValue ?? ""), its entry is \(firstOutOfOrder?.element.1.rawValue ?? "")"
        )
    }

    @Test func aBatchIsOneRowReadAPageAtATime() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "shop")
        let start = try await b.ledger.sequenceEvents()
        let transfers = (0..<250).map { i in
            NewTransfer(id: b.tid("t\(i)"), .post([.debit(b.id("@world"), 1), .credit(b.id("shop"), 1)]))
        }
        #expect(try await b.ledger.post(transfers).count { $0.isCreated } == 250)
        var ids: [TransferID] = []
        var cursor = start
        var pages = 0
        while true {
            let page = try await b.ledger.events(after: cursor, limit: 100)
            #expect(page.events.count <= 100)
            #expect(page.events.map(\.position) == Array(cursor + 1..<cursor + 1 + Int64(page.events.count)))
            ids += Self.mine(page.events, b).compactMap { event in
                if case .transfer(let t) = event.subject { t.id } else { nil }
            }
            cursor = page.next
            pages += 1
            if cursor == page.head { break }
        }
        #expect(ids == transfers.map(\.id))
        #expect(pages >= 3)

        // Filtered by the database, in large steps: only this test's events, capped at the limit,
        // the page ending at its last event; then on from there.
        let first = try await b.ledger.events(after: start, limit: 10, accountPrefix: b.prefix + ":", scan: 10_000)
        #expect(first.events.count == 10)
        #expect(Self.mine(first.events, b).count == 10)
        #expect(first.next == first.events.last?.position)
        var rest: [LedgerEvent] = []
        var at = first.next
        while at < first.head {
            let page = try await b.ledger.events(after: at, limit: 1_000, accountPrefix: b.prefix + ":", scan: 10_000)
            rest += page.events
            at = page.next
        }
        #expect(Self.mine(rest, b).count == rest.count)
        #expect(
            (first.events + rest).compactMap { event -> TransferID? in
                if case .transfer(let t) = event.subject { t.id } else { nil }
            } == transfers.map(\.id))
    }

    @Test func typesAreFilteredByTheLedgerAcrossPagesWithoutSkippingAny() async throws {
        let b = try await Books.make()
        let start = try await b.ledger.sequenceEvents()
        try await b.accounts("@world", "agent", "merchant")
        for k in 0..<30 {
            let hold = NewTransfer(
                id: b.tid("h\(k)"), .hold([.debit(b.id("@world"), 10), .credit(b.id("agent"), 10)], timeout: nil))
            #expect(try await b.ledger.post(hold).isCreated)
            let settle: NewTransfer.Action = k % 3 == 0 ? .voidHold(b.tid("h\(k)")) : .postHold(b.tid("h\(k)"), amount: nil)
            #expect(try await b.ledger.post(NewTransfer(id: b.tid("s\(k)"), settle)).isCreated)
        }
        let rail = NewTransfer(
            id: b.tid("card"), .post([.debit(b.id("@world"), 7), .credit(b.id("merchant"), 7)]),
            railReference: .init(rail: "card", reference: "\(b.prefix)-ch_1"))
        #expect(try await b.ledger.post(rail).isCreated)
        try await b.ledger.closeAccount(b.id("merchant"))

        func read(_ types: Set<LedgerEvent.Kind>) async throws -> [LedgerEvent] {
            var events: [LedgerEvent] = []
            var cursor = start
            while true {
                // Small pages: the cap and the filter must not skip a position between pages.
                let page = try await b.ledger.events(after: cursor, limit: 4, accountPrefix: "\(b.prefix):", types: types, scan: 1_000)
                events += page.events
                cursor = page.next
                if cursor == page.head { return events }
            }
        }
        let all = try await read([])
        for types: Set<LedgerEvent.Kind> in [
            [.transferPosted], [.transferVoided, .accountClosed], [.railEventBooked], [.accountCreated, .transferCreated],
            [.balanceMonitorFired],
        ] {
            let filtered = try await read(types)
            #expect(filtered.map(\.id) == all.filter { types.contains($0.kind) }.map(\.id), "\(types)")
        }
        #expect(try await read([.transferPosted]).count == 20)
        #expect(try await read([.transferVoided, .accountClosed]).count == 11)
    }

    @Test func aCursorTheLedgerNeverGaveIsRefused() async throws {
        let ledger = try await TestDatabase.ledger()
        let head = try await ledger.sequenceEvents()
        await #expect(throws: LedgerError.self) { _ = try await ledger.events(after: head + 1_000_000) }
        do {
            _ = try await ledger.events(after: -1)
            Issue.record("a negative cursor was read")
        } catch { #expect(error.code == .invalidCursor) }
        do {
            _ = try await ledger.events(after: head + 1_000_000)
            Issue.record("a cursor from the future was read")
        } catch { #expect(error.code == .unknownCursor) }
        #expect(try await ledger.events(after: head).events.count >= 0)
    }
}
