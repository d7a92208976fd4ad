import Foundation
import Ledger
import SettleTesting
import Testing

extension BinaryTests {
    /// `settle events tail` as an operator runs it: following new events, and reading what exists.
    @Suite("settle events tail", .timeLimit(.minutes(3)))
    struct EventsCommandTests {
        @Test func tailFollowsNewEventsAndReadsWhatExists() async throws {
            guard let binary = SettleProcess.binary else {
                if InteropPython.isCI { Issue.record("the settle binary is missing: run scripts/test") }
                return
            }
            let url = try await TestDatabase.databaseURL()
            let text = url.commandLineText
            let ledger = try await TestDatabase.ledger()
            let p = "e\(UInt32.random(in: 0...UInt32.max))"
            let start = try await ledger.sequenceEvents()

            let tail = try SettleProcess(
                binary, ["events", "tail", "--after", String(start), "--account-prefix", "\(p):", "--database-url", text])
            defer { tail.stop() }
            let asset = try AssetID("\(p)-usd")
            _ = try await ledger.createAssets([Asset(id: asset, code: "USD", scale: 2)])
            let world = try AccountID("\(p):world")
            let shop = try AccountID("\(p):shop")
            _ = try await ledger.createAccounts([
                Account(id: world, asset: asset, normalSide: .debit), Account(id: shop, asset: asset, normalSide: .credit),
            ])
            _ = try await ledger.post(NewTransfer(id: try TransferID("\(p):t1"), .post([.debit(world, 5), .credit(shop, 5)])))

            // The first line is the world's account; the transfer follows.
            let first = try #require(try await tail.firstLine())
            let event = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
            #expect(event["type"] as? String == "account.created")
            #expect((event["data"] as? [String: Any])?["id"] as? String == "\(p):world")
            var lines: [Substring] = []
            for _ in 0..<500 where lines.count < 3 {
                lines = tail.stdout.split(separator: "\n")
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(lines.count == 3, "\(tail.stdout)\(tail.stderr)")
            #expect(lines.last?.contains(#""id":"\#(p):t1""#) == true, "\(lines)")

            // Without following: what exists, filtered, and where to resume.
            let once = try SettleProcess(
                binary,
                [
                    "events", "tail", "--after", String(start), "--no-follow", "--types", "account.created", "--account-prefix", "\(p):",
                    "--database-url", text,
                ])
            defer { once.stop() }
            #expect(try await once.exitStatus() == 0)
            let created = once.stdout.split(separator: "\n")
            #expect(created.count == 2, "\(once.stdout)")
            #expect(once.stderr.contains("next_cursor="), "\(once.stderr)")

            let bad = try SettleProcess(binary, ["events", "tail", "--types", "nope", "--database-url", text])
            defer { bad.stop() }
            #expect(try await bad.exitStatus() != 0)
            #expect(bad.stderr.contains("unknown event type nope"), "\(bad.stderr)")
        }

        @Test func pruneDropsOldEventsAndTailSaysItsCursorExpired() async throws {
            guard let binary = SettleProcess.binary else {
                if InteropPython.isCI { Issue.record("the settle binary is missing: run scripts/test") }
                return
            }
            // Pruning is global: a database of its own.
            try await TestDatabase.withIsolatedDatabase { url in
                let text = url.commandLineText
                let head = try await withLedger(url) { ledger in
                    let asset = try AssetID("p-usd")
                    _ = try await ledger.createAssets([Asset(id: asset, code: "USD", scale: 2)])
                    _ = try await ledger.createAccounts([Account(id: try AccountID("p:a"), asset: asset, normalSide: .credit)])
                    return try await ledger.sequenceEvents()
                }
                let prune = try SettleProcess(binary, ["events", "prune", "--older-than-days", "0", "--database-url", text])
                defer { prune.stop() }
                #expect(try await prune.exitStatus() == 0, "\(prune.stderr)")
                #expect(prune.stdout == "pruned_through=\(head) rows_deleted=1\n", "\(prune.stdout)")

                let tail = try SettleProcess(binary, ["events", "tail", "--after", "0", "--no-follow", "--database-url", text])
                defer { tail.stop() }
                #expect(try await tail.exitStatus() != 0)
                #expect(tail.stderr.contains("cursor_expired") || tail.stderr.contains("were pruned"), "\(tail.stderr)")
            }
        }
    }
}
