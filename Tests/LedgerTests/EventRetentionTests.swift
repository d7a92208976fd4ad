import Foundation
import Ledger
import PostgresNIO
import SettleTesting
import Testing

/// Retention of the event outbox (decision 0042): old events leave the feed, what they announced
/// stays in the ledger, positions never restart, and a cursor among pruned events is refused
/// rather than silently moved past them. Each test has a database of its own, since pruning is
/// global and other suites read the shared outbox.
@Suite("Event retention")
struct EventRetentionTests {
    static func withBooks(_ body: (Books, DatabaseURL) async throws -> Void) async throws {
        try await TestDatabase.withIsolatedDatabase { url in
            try await withLedger(url) { ledger in
                let prefix = "r\(UInt32.random(in: 0...UInt32.max))"
                let asset = try AssetID("\(prefix)-usd")
                _ = try await ledger.createAssets([Asset(id: asset, code: "USD", scale: 2)])
                try await body(Books(ledger: ledger, prefix: prefix, asset: asset), url)
            }
        }
    }

    static func expectExpired(_ read: () async throws(LedgerError) -> Void) async {
        do throws(LedgerError) {
            try await read()
            Issue.record("a cursor among pruned events was read")
        } catch {
            #expect(error.code == .cursorExpired, "\(error)")
        }
    }

    @Test func prunedEventsLeaveTheFeedButNotTheLedgerAndPositionsGoOn() async throws {
        try await Self.withBooks { b, _ in
            try await b.accounts("@world", "agent")
            _ = try await b.post("old1", [.debit(b.id("@world"), 10), .credit(b.id("agent"), 10)])
            _ = try await b.post("old2", [.debit(b.id("@world"), 20), .credit(b.id("agent"), 20)])
            let oldHead = try await b.ledger.sequenceEvents()
            try await Task.sleep(for: .milliseconds(50))
            let cut = Date()
            try await Task.sleep(for: .milliseconds(50))
            _ = try await b.post("new1", [.debit(b.id("@world"), 30), .credit(b.id("agent"), 30)])
            let head = try await b.ledger.sequenceEvents()

            let pruning = try await b.ledger.pruneEvents(recordedBefore: cut, batch: 1)
            #expect(pruning.prunedThrough == oldHead)
            #expect(pruning.rowsDeleted == 3)  // the accounts' row and the two transfers'
            #expect(pruning.heldBy == nil)

            // From the horizon on, the feed is whole; below it, a reader is told it missed events.
            let page = try await b.ledger.events(after: oldHead, limit: 100)
            #expect(page.events.map(\.position) == [head])
            #expect(page.events.map(\.kind) == [.transferCreated])
            await Self.expectExpired { () throws(LedgerError) in _ = try await b.ledger.events(after: 0) }
            await Self.expectExpired { () throws(LedgerError) in _ = try await b.ledger.events(after: oldHead - 1) }
            // The transfers the pruned events announced are still in the ledger.
            #expect(try await b.ledger.transfer(b.tid("old1")) != nil)
            #expect(try await b.ledger.balance(of: b.id("agent")).posted == SignedAmount(60))

            // Everything pruned, the next event still takes the next position, not the first.
            let all = try await b.ledger.pruneEvents(recordedBefore: Date().addingTimeInterval(60))
            #expect(all.prunedThrough == head)
            #expect(try await b.ledger.sequenceEvents() == head)
            _ = try await b.post("after", [.debit(b.id("@world"), 1), .credit(b.id("agent"), 1)])
            let next = try await b.ledger.events(after: head)
            #expect(next.events.map(\.position) == [head + 1])
            // Nothing left to prune: the horizon stays.
            #expect(try await b.ledger.pruneEvents(recordedBefore: cut).prunedThrough == head)
        }
    }

    @Test func aWebhookEndpointHoldsItsUnacknowledgedEventsBack() async throws {
        try await Self.withBooks { b, _ in
            try await b.accounts("@world", "agent")
            _ = try await b.post("t1", [.debit(b.id("@world"), 10), .credit(b.id("agent"), 10)])
            let first = try await b.ledger.sequenceEvents()
            _ = try await b.post("t2", [.debit(b.id("@world"), 10), .credit(b.id("agent"), 10)])
            _ = try await b.ledger.createWebhookEndpoint(id: "slow", url: "http://127.0.0.1:9/hook", after: 0)
            let later = Date().addingTimeInterval(60)

            let held = try await b.ledger.pruneEvents(recordedBefore: later)
            #expect(held.prunedThrough == 0)
            #expect(held.rowsDeleted == 0)
            #expect(held.heldBy == "slow")
            try await b.ledger.advanceWebhookEndpoint("slow", through: first)
            let partly = try await b.ledger.pruneEvents(recordedBefore: later)
            #expect(partly.prunedThrough == first)
            #expect(partly.heldBy == "slow")

            // A new endpoint cannot start among pruned events: it would never get them.
            do throws(LedgerError) {
                _ = try await b.ledger.createWebhookEndpoint(id: "late", url: "http://127.0.0.1:9/hook", after: first - 1)
                Issue.record("an endpoint started among pruned events")
            } catch {
                #expect(error.code == .cursorExpired, "\(error)")
            }
            #expect(try await b.ledger.webhookEndpoint("late") == nil)

            try await b.ledger.deleteWebhookEndpoint("slow")
            let rest = try await b.ledger.pruneEvents(recordedBefore: later)
            #expect(rest.prunedThrough == (try await b.ledger.sequenceEvents()))
            #expect(rest.heldBy == nil)
        }
    }

    @Test func theOutboxRefusesDeletesOutsideThePruning() async throws {
        try await Self.withBooks { b, url in
            try await b.accounts("@world", "agent")
            _ = try await b.ledger.sequenceEvents()
            try await url.withClient(connections: 1, logger: TestDatabase.logger) { client in
                for sql in ["delete from settle.outbox", "truncate settle.outbox", "delete from settle.outbox_horizon"] {
                    await #expect(throws: PSQLError.self, "\(sql)") {
                        try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
                    }
                }
                // The guard is per transaction: a prune does not leave deletes open behind it.
                let rows = try await client.query(
                    "select count(*)::int8 from settle.outbox where last_position is not null", logger: TestDatabase.logger)
                for try await count in rows.decode(Int64.self) { #expect(count >= 1) }
            }
            _ = try await b.ledger.pruneEvents(recordedBefore: Date().addingTimeInterval(60))
            try await url.withClient(connections: 1, logger: TestDatabase.logger) { client in
                _ = try await b.post("t", [.debit(b.id("@world"), 1), .credit(b.id("agent"), 1)])
                _ = try await b.ledger.sequenceEvents()
                await #expect(throws: PSQLError.self) {
                    try await client.query("delete from settle.outbox", logger: TestDatabase.logger)
                }
            }
        }
    }
}
