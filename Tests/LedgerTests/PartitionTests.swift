import Foundation
import PostgresNIO
import SettleTesting
import Testing

@testable import Ledger

/// History partitioned by range (decision 0040), on databases of their own: a database is built as
/// release v24 left it, holds rows, then migrates, and the transfer sequence is moved to cross a
/// partition boundary (which would disturb the shared database's other tests).
@Suite("Partitioned history")
struct PartitionTests {
    static let logger = TestDatabase.logger
    /// The width of an entries partition the migration plans (transfer seqs).
    static let width: Int64 = 10_000_000

    static func values<T: PostgresDecodable & Sendable>(
        _ client: PostgresClient, _ sql: String, as: T.Type = T.self
    ) async throws -> [T] {
        var out: [T] = []
        for try await value in try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(T.self) {
            out.append(value)
        }
        return out
    }

    static func value<T: PostgresDecodable & Sendable>(_ client: PostgresClient, _ sql: String, as: T.Type = T.self) async throws -> T {
        try #require(try await values(client, sql, as: T.self).first)
    }

    static func created(_ result: TransferResult) throws -> Int64 {
        guard case .created(let receipt) = result else {
            Issue.record("not created: \(result)")
            throw CancellationError()
        }
        return receipt.sequence
    }

    static func pay(_ id: String, _ from: AccountID, _ to: AccountID, _ amount: UInt256, railRef: String? = nil, at: Date? = nil)
        -> NewTransfer
    {
        NewTransfer(
            id: TransferID(stringLiteral: id), .post([.debit(from, amount), .credit(to, amount)]), effectiveAt: at,
            railReference: railRef.map { NewTransfer.RailReference(rail: "erc20", reference: $0) })
    }

    /// A database at v24 with a little history (fast path, a limit, a hold posted in part, a rail
    /// reference, chained), job runs of past months, and the transfer sequence moved to just below
    /// the first boundary. Runs `body` with the database's URL and how many entries it held: `body`
    /// opens ledgers on fresh sessions (a session keeps the block of seqs it cached before a `setval`),
    /// and the first migrates.
    func withMigratedHistory(_ body: (DatabaseURL, Int64) async throws -> Void) async throws {
        let url = try await TestDatabase.isolatedDatabase()
        defer { Task { try? await TestDatabase.dropIsolated(url) } }
        let entries = try await url.withClient(connections: 2, logger: Self.logger) { client in
            let ledger = PostgresLedger(client: client, logger: Self.logger)
            try await ledger.migrate(through: 24)
            #expect(
                try await Self.value(client, "select relkind::text from pg_class where oid = 'settle.entries'::regclass", as: String.self)
                    == "r")
            _ = try await ledger.createAssets([Asset(id: "usd", code: "USD", scale: 2)])
            _ = try await ledger.createAccounts([
                Account(id: "world", asset: "usd", normalSide: .debit),
                Account(id: "a", asset: "usd", normalSide: .credit, limit: .debitsMustNotExceedCredits),
                Account(id: "b", asset: "usd", normalSide: .credit),
            ])
            _ = try Self.created(try await ledger.post(Self.pay("old1", "world", "a", 100, at: Date(timeIntervalSince1970: 1_790_000_000))))
            _ = try Self.created(try await ledger.post(Self.pay("old2", "a", "b", 30, railRef: "0xold")))
            _ = try Self.created(try await ledger.post(NewTransfer(id: "oldh", .hold([.debit("a", 20), .credit("b", 20)], timeout: nil))))
            _ = try Self.created(try await ledger.post(NewTransfer(id: "oldc", .postHold("oldh", amount: 5))))
            #expect(try await ledger.advanceChain().problems.isEmpty)
            try await client.query(
                """
                insert into settle.jobs (name, schedule, time_zone, catch_up) values ('old-job', '@daily', 'UTC', 'latest')
                """, logger: Self.logger)
            try await client.query(
                """
                insert into settle.job_runs (job, generation, scheduled_for, worker, started_at, finished_at, outcome)
                select 'old-job', g, now() - g * interval '40 days', 'w', now() - g * interval '40 days',
                       now() - g * interval '40 days', 'succeeded'
                  from generate_series(1, 3) g
                """, logger: Self.logger)
            try await client.query(PostgresQuery(unsafeSQL: "select setval('settle.transfer_seq', \(Self.width - 3))"), logger: Self.logger)
            return try await Self.value(client, "select count(*) from settle.entries", as: Int64.self)
        }
        try await body(url, entries)
    }

    @Test func theMigrationCarriesHistoryOverAndPostingCrossesABoundary() async throws {
        try await withMigratedHistory { url, carried in
            try await withLedger(url) { ledger in
                let client = ledger.client
                let kinds = try await Self.values(
                    client,
                    """
                    select c.relname::text || ':' || c.relkind::text from pg_class c
                     where c.oid in ('settle.entries'::regclass, 'settle.job_runs'::regclass, 'settle.transfers'::regclass)
                     order by 1
                    """, as: String.self)
                #expect(kinds == ["entries:p", "job_runs:p", "transfers:r"])
                // Every row carried over, in the first range; the job runs in their months.
                var partitions = try await ledger.partitions(count: true)
                let rows = Dictionary(uniqueKeysWithValues: partitions.map { ($0.name, $0.rows ?? -1) })
                #expect(rows["entries_0"] == carried)
                #expect(rows["entries_default"] == 0 && rows["job_runs_default"] == 0)
                #expect(partitions.filter { $0.table == "job_runs" }.compactMap(\.rows).reduce(0, +) == 3)
                #expect(partitions.filter { $0.table == "entries" }.compactMap(\.from) == ["0", "10000000", "20000000"])

                // One batch on a fresh session takes seqs width-2 ... width+1: two on each side.
                let batch = (1...4).map { Self.pay("new\($0)", "world", "a", UInt256(UInt64($0))) }
                let results = try await ledger.post(batch)
                let seqs = try results.map(Self.created)
                #expect(seqs == [Self.width - 2, Self.width - 1, Self.width, Self.width + 1])
                partitions = try await ledger.partitions(count: true)
                let after = Dictionary(uniqueKeysWithValues: partitions.map { ($0.name, $0.rows ?? -1) })
                #expect(after["entries_0"] == carried + 4 && after["entries_10000000"] == 4 && after["entries_default"] == 0)
                let misplaced = try await Self.value(
                    client,
                    """
                    select count(*) from settle.entries
                     where (tableoid = 'settle.entries_0'::regclass) <> (transfer_seq < \(Self.width))
                    """, as: Int64.self)
                #expect(misplaced == 0)

                // Balances, point in time, history pages and idempotency read across the boundary.
                #expect(try await ledger.balance(of: "a").creditsPosted == 110)
                #expect(try await ledger.balance(of: "a").debitsPosted == 35)
                #expect(try await ledger.balance(of: "b").creditsPosted == 35)
                #expect(try await ledger.balance(of: "a", asOf: Date(timeIntervalSince1970: 1_790_000_001)).creditsPosted == 100)
                var versions: [Int64] = []
                var cursor: String?
                repeat {
                    let page = try await ledger.entries(of: "a", limit: 3, cursor: cursor)
                    versions += page.items.map(\.version)
                    cursor = page.nextCursor
                } while cursor != nil
                #expect(versions == Array((1...(try await ledger.balance(of: "a").version)).reversed()))
                #expect(try await ledger.post(Self.pay("old2", "a", "b", 30, railRef: "0xold")).isExists)
                #expect(try await ledger.post(Self.pay("new3", "world", "a", 3)).isExists)
                #expect(try await ledger.post(Self.pay("new3", "world", "a", 4)).code == .existsWithDifferentFields)
                #expect(try await ledger.post(Self.pay("other", "a", "b", 1, railRef: "0xold")).code == .railReferenceExists)

                // The invariants and the hash chain, whose links before the migration still verify.
                let report = try await ledger.verify()
                #expect(report.passed, "\(report)")
                #expect(try await ledger.advanceChain().problems.isEmpty)
                let chain = try await ledger.verifyChain(publicKey: nil)
                #expect(chain.passed, "\(chain.findings)")

                // Append-only holds on a partition named directly, where the parent's triggers do not fire.
                for sql in [
                    "delete from settle.entries_0", "update settle.entries_10000000 set amount = 1", "truncate settle.entries_0",
                    "insert into settle.entries_default select * from settle.entries_0 limit 1",
                ] {
                    await #expect(throws: (any Error).self, "\(sql)") {
                        try await client.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger)
                    }
                }
            }
        }
    }

    @Test func aQueryBySeqRangeReadsOnlyItsPartitions() async throws {
        try await withMigratedHistory { url, _ in
            try await withLedger(url) { ledger in
                _ = try await ledger.post((1...4).map { Self.pay("p\($0)", "world", "b", 1) })
                // Bounds known when planning: only the partition holding them is in the plan.
                let plan = try await Self.values(
                    ledger.client,
                    """
                    explain (costs off) select count(*) from settle.entries
                     where transfer_seq >= \(Self.width) and transfer_seq < \(Self.width + 100)
                    """, as: String.self
                ).joined(separator: "\n")
                #expect(plan.contains("entries_10000000"), "\(plan)")
                #expect(!plan.contains("entries_0 "), "\(plan)")
                #expect(!plan.contains("entries_20000000"), "\(plan)")
                #expect(!plan.contains("entries_default"), "\(plan)")
                // Bounds known only when the query runs, as in the posting functions' joins: the
                // partitions outside them are never executed.
                let lines = try await Self.values(
                    ledger.client,
                    """
                    explain (analyze, costs off, timing off, summary off) select count(*) from settle.entries
                     where transfer_seq >= (select \(Self.width)::int8) and transfer_seq < (select \(Self.width + 100)::int8)
                    """, as: String.self)
                func scanned(_ executed: Bool) -> Set<String> {
                    Set(
                        lines.filter { $0.contains(" on entries_") && $0.contains("never executed") != executed }
                            .compactMap { $0.components(separatedBy: " on ").last?.split(separator: " ").first.map(String.init) }
                            .filter { !$0.hasSuffix("_idx") })
                }
                #expect(scanned(true) == ["entries_10000000"], "\(lines)")
                #expect(scanned(false) == ["entries_0", "entries_20000000", "entries_default"], "\(lines)")
            }
        }
    }

    @Test func maintenanceIsIdempotentCreatesAheadAndLeavesLateRowsInTheDefault() async throws {
        try await withMigratedHistory { url, _ in
            try await withLedger(url) { ledger in
                #expect(try await ledger.ensurePartitions() == 0)
                let before = try await ledger.partitions()
                // Job runs: this month and three ahead are ready.
                let furthest = try await Self.value(
                    ledger.client,
                    """
                    select max(upper_bound::timestamptz) >= date_trunc('month', now(), 'UTC') + interval '4 months'
                      from settle.partition_ranges where parent = 'job_runs' and not is_default
                    """, as: Bool.self)
                #expect(furthest)
                // Two widths ahead of the sequence's last value, from the last upper bound on.
                try await ledger.client.query(
                    PostgresQuery(unsafeSQL: "select setval('settle.transfer_seq', \(4 * Self.width + 1))"), logger: Self.logger)
                #expect(try await ledger.ensurePartitions() == 4)
                #expect(try await ledger.ensurePartitions() == 0)
                let entries = try await ledger.partitions().filter { $0.table == "entries" }.compactMap(\.from)
                #expect(entries == (0...6).map { String(Int64($0) * Self.width) })
                #expect(try await ledger.partitions().count == before.count + 4)
            }
            // A seq beyond every range (the job fell behind) lands in the DEFAULT partition; posting
            // does not fail, and the next ranges start above it.
            try await url.withClient(connections: 1, logger: Self.logger) { client in
                try await client.query(
                    PostgresQuery(unsafeSQL: "select setval('settle.transfer_seq', \(9 * Self.width + 5))"), logger: Self.logger)
            }
            try await withLedger(url) { ledger in
                let seq = try Self.created(try await ledger.post(Self.pay("late", "world", "b", 7)))
                #expect(seq == 9 * Self.width + 6)
                let rows = try await ledger.partitions(count: true).filter { $0.name == "entries_default" }.compactMap(\.rows)
                #expect(rows == [2])
                // Two widths ahead of the sequence's last value (the end of the session's cached block).
                #expect(try await ledger.ensurePartitions() == 2)
                let entries = try await ledger.partitions().filter { $0.table == "entries" }.compactMap(\.from)
                #expect(entries.suffix(3) == ["60000000", "100000000", "110000000"])
                #expect(try await ledger.balance(of: "b").creditsPosted == 42)
                #expect(try await ledger.verify().passed)
            }
        }
    }
}
