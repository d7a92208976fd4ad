import ArgumentParser
import Foundation
import Ledger
import NIOCore
import PostgresNIO

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks.",
        subcommands: [
            LedgerBench.self, APIBench.self, RailBench.self, EVMBench.self, X402Bench.self, TempoBench.self, MPPBench.self,
            ReconcileBench.self,
        ])
}

/// `settle bench ledger`: durable batched throughput on spread and hot accounts, the ratio to a raw
/// COPY of the same rows, and single-transfer latency. Run a release build.
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger", abstract: "Benchmark the ledger core.")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Transfers per scenario.") var transfers = 240_000
    @Option(help: "Transfers per batch (one database call).") var batchSize = 8_000
    @Option(help: "Batches in flight at once.") var concurrency = 3
    @Option(help: "Payer accounts (each with a no-overdraft limit).") var accounts = 10_000
    @Option(help: "Single transfers timed one at a time for latency.") var singles = 2_000
    @Option(
        help: """
            Migrate a database of its own only through this schema version, to measure an older schema             beside the current one in the same session (e.g. 24: entries before their partitioning).
            """)
    var schemaThrough: Int?
    @Flag(help: "Print the figures as one JSON object.") var json = false

    func validate() throws {
        if let schemaThrough, !(1...PostgresLedger.schemaVersion).contains(schemaThrough) {
            throw ValidationError("--schema-through is a schema version from 1 to \(PostgresLedger.schemaVersion)")
        }
        guard concurrency >= 1, batchSize >= 1, transfers >= concurrency else {
            throw ValidationError("--concurrency, --batch-size and --transfers must be positive, with at least one transfer per worker")
        }
        guard accounts >= 2 * concurrency else { throw ValidationError("--accounts must be at least twice --concurrency") }
    }

    struct Figures: Encodable {
        var batched_tps: Double
        var hot_tps: Double
        var copy_tps: Double
        var ratio_to_copy: Double
        var hot_ratio: Double
        var single_p50_ms: Double
        var single_p99_ms: Double
        var transfers: Int
        var batch_size: Int
        var concurrency: Int
        var accounts: Int
    }

    func run() async throws {
        let opts = self
        let figures: Figures
        if let schemaThrough {
            figures = try await db.withLedger(connections: concurrency + 2, migratedThrough: schemaThrough) { ledger in
                try await opts.measure(ledger)
            }
        } else {
            figures = try await db.withLedger(connections: concurrency + 2) { ledger in try await opts.measure(ledger) }
        }
        if json {
            print(try JSONCoding.line(figures))
        } else {
            func f(_ x: Double) -> String { x.formatted(.number.precision(.fractionLength(0...2))) }
            print(
                "settle bench ledger: \(transfers) transfers per scenario, batches of \(batchSize), \(concurrency) in flight, \(accounts) payer accounts"
            )
            print("  batched, spread accounts : \(f(figures.batched_tps)) transfers/s")
            print("  batched, one hot account : \(f(figures.hot_tps)) transfers/s (\(f(figures.hot_ratio * 100)) % of spread)")
            print("  raw COPY of the same rows: \(f(figures.copy_tps)) transfers/s (ledger/COPY = \(f(figures.ratio_to_copy)))")
            print("  single transfer latency  : p50 \(f(figures.single_p50_ms)) ms, p99 \(f(figures.single_p99_ms)) ms")
        }
    }

    func measure(_ ledger: PostgresLedger) async throws -> Figures {
        let run = "bench-\(Int(Date().timeIntervalSince1970 * 1000))"
        let asset = try AssetID("bench-usd")
        _ = try await ledger.createAssets([Asset(id: asset, code: "USD", scale: 6)])
        let merchant = AccountID(stringLiteralChecked: "\(run):merchant")
        let source = AccountID(stringLiteralChecked: "\(run):source")
        let payers = (0..<accounts).map { AccountID(stringLiteralChecked: "\(run):payer:\($0)") }
        var all = [
            Account(id: merchant, asset: asset, normalSide: .credit), Account(id: source, asset: asset, normalSide: .debit),
        ]
        all += payers.map { Account(id: $0, asset: asset, normalSide: .credit, limit: .debitsMustNotExceedCredits) }
        for chunk in stride(from: 0, to: all.count, by: 10_000) {
            _ = try await ledger.createAccounts(Array(all[chunk..<min(chunk + 10_000, all.count)]))
        }
        for chunk in stride(from: 0, to: payers.count, by: batchSize) {
            let batch = payers[chunk..<min(chunk + batchSize, payers.count)].map {
                NewTransfer(
                    id: TransferID(stringLiteralChecked: "\($0):fund"),
                    .post([.debit(source, 1_000_000_000_000), .credit($0, 1_000_000_000_000)]))
            }
            try Self.expectCreated(try await ledger.post(batch))
        }

        // Each worker owns a slice of the payers, as sharded producers would.
        let spread = try await timed(ledger, run: run, scenario: "s") { worker, rng in
            // Two different payers of the worker's slice.
            let slice = self.slice(worker)
            let from = Int.random(in: slice, using: &rng)
            let to = slice.lowerBound + (from - slice.lowerBound + Int.random(in: 1..<slice.count, using: &rng)) % slice.count
            return [.debit(payers[from], 10), .credit(payers[to], 10)]
        }
        let hot = try await timed(ledger, run: run, scenario: "h") { worker, rng in
            let from = payers[self.slice(worker).randomElement(using: &rng)!]
            return [.debit(from, 10), .credit(merchant, 10)]
        }
        let copy = try await copyBaseline(ledger)

        var latencies: [Double] = []
        latencies.reserveCapacity(singles)
        for k in 0..<singles {
            let t = NewTransfer(
                id: TransferID(stringLiteralChecked: "\(run):one:\(k)"), .post([.debit(payers[k % payers.count], 1), .credit(merchant, 1)]))
            let start = ContinuousClock.now
            try Self.expectCreated([try await ledger.post(t)])
            latencies.append((ContinuousClock.now - start).seconds * 1000)
        }
        latencies.sort()
        func pct(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        return Figures(
            batched_tps: spread, hot_tps: hot, copy_tps: copy, ratio_to_copy: spread / copy, hot_ratio: hot / spread,
            single_p50_ms: pct(0.5), single_p99_ms: pct(0.99), transfers: transfers, batch_size: batchSize,
            concurrency: concurrency, accounts: accounts)
    }

    private func slice(_ worker: Int) -> Range<Int> {
        let per = accounts / concurrency
        return (worker * per)..<(worker == concurrency - 1 ? accounts : (worker + 1) * per)
    }

    private func timed(
        _ ledger: PostgresLedger, run: String, scenario: String,
        postings: @escaping @Sendable (Int, inout SystemRandomNumberGenerator) -> [Posting]
    ) async throws -> Double {
        try await Self.postBatched(
            ledger, transfers: transfers, batchSize: batchSize, concurrency: concurrency, idPrefix: "\(run):\(scenario)",
            postings: postings)
    }

    /// Posts `transfers` transfers from `concurrency` workers in batches of `batchSize`; returns transfers/s.
    static func postBatched(
        _ ledger: PostgresLedger, transfers: Int, batchSize: Int, concurrency: Int, idPrefix: String,
        postings: @escaping @Sendable (Int, inout SystemRandomNumberGenerator) -> [Posting]
    ) async throws -> Double {
        let perWorker = transfers / concurrency
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var rng = SystemRandomNumberGenerator()
                    for chunk in stride(from: 0, to: perWorker, by: batchSize) {
                        let batch = (chunk..<min(chunk + batchSize, perWorker)).map { k in
                            NewTransfer(id: TransferID(stringLiteralChecked: "\(idPrefix)\(worker):\(k)"), .post(postings(worker, &rng)))
                        }
                        try Self.expectCreated(try await ledger.post(batch))
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(perWorker * concurrency) / (ContinuousClock.now - start).seconds
    }

    /// COPY of rows shaped like the ledger's (one transfer row and two entry rows per transfer) into
    /// bare tables: the physical write limit of this machine for the same data.
    private func copyBaseline(_ ledger: PostgresLedger) async throws -> Double {
        let client = ledger.client
        try await client.query("create schema if not exists settle_bench")
        try await client.query("drop table if exists settle_bench.copy_transfers, settle_bench.copy_entries")
        try await client.query(
            "create table settle_bench.copy_transfers (seq bigint, id text, kind smallint, effective_at timestamptz, recorded_at timestamptz, request_hash bytea)"
        )
        try await client.query(
            """
            create table settle_bench.copy_entries (account_num bigint, account_version bigint, transfer_seq bigint,
              effective_at timestamptz, is_debit boolean, is_pending boolean, amount numeric, debits_posted numeric,
              credits_posted numeric, debits_pending numeric, credits_pending numeric)
            """)
        let perWorker = transfers / concurrency
        let batchSize = self.batchSize
        let concurrency = self.concurrency
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for chunk in stride(from: 0, to: perWorker, by: batchSize) {
                        let range = chunk..<min(chunk + batchSize, perWorker)
                        // One transaction per batch, like a ledger batch: both COPYs, then a durable commit.
                        try await client.withTransaction(logger: ledger.logger) { conn in
                            var t = ByteBuffer()
                            var e = ByteBuffer()
                            for k in range {
                                let seq = worker * 10_000_000 + k
                                t.writeString(
                                    "\(seq)\tbench:\(worker):\(k)\t0\t2026-11-25 00:00:00+00\t2026-11-25 00:00:00+00\t\\\\x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
                                )
                                for side in 0..<2 {
                                    e.writeString(
                                        "\(seq * 2 + side)\t\(k)\t\(seq)\t2026-11-25 00:00:00+00\t\(side == 0 ? "t" : "f")\tf\t10\t\(k * 10)\t1000000000000\t0\t0\n"
                                    )
                                }
                            }
                            // copyFrom quotes the name as one identifier: reach the schema by search_path.
                            try await conn.query("set local search_path = settle_bench", logger: ledger.logger)
                            try await conn.copyFrom(table: "copy_transfers", logger: ledger.logger) { try await $0.write(t) }
                            try await conn.copyFrom(table: "copy_entries", logger: ledger.logger) { try await $0.write(e) }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let rate = Double(perWorker * concurrency) / (ContinuousClock.now - start).seconds
        try await client.query("drop schema settle_bench cascade")
        return rate
    }

    static func expectCreated(_ results: [TransferResult]) throws {
        if let bad = results.first(where: { if case .created = $0 { false } else { true } }) {
            throw CommandFailure(description: "bench: a transfer was not created: \(bad)")
        }
    }
}
