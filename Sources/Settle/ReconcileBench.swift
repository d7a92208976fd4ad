import ArgumentParser
import Foundation
import Ledger
import NIOCore
import PostgresNIO
import RailKit
import Reconciliation

/// `settle bench reconcile`: a day of N ledger transfers against N statement records with 0.1 %
/// faults, reconciled in rounds, beside a plain COPY of the same records in the same run, with the
/// process's peak resident memory (VmHWM).
struct ReconcileBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile", abstract: "Benchmark reconciliation: N transfers against N statement records with 0.1 % breaks.")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Ledger transfers and statement records.") var records = 1_000_000
    @Option(help: "Rounds (the same day reconciled again; medians are printed).") var rounds = 3
    @Option(help: "Statement records per page.") var pageSize = 5_000
    @Flag(help: "Print the figures as one JSON object.") var json = false

    struct Figures: Encodable {
        var records: Int
        var ledger_transfers: Int
        var rounds: Int
        var reconcile_seconds: [Double]
        var copy_seconds: [Double]
        var reconcile_median_s: Double
        var copy_median_s: Double
        var ratio_to_copy: Double
        var breaks: [String: Int64]
        var peak_rss_mib: Double
        var setup_seconds: Double
    }

    func run() async throws {
        let opts = self
        let figures = try await db.withLedger(connections: 6) { ledger in try await opts.measure(ledger) }
        if json {
            print(try JSONCoding.line(figures))
        } else {
            func f(_ x: Double) -> String { x.formatted(.number.precision(.fractionLength(0...2))) }
            print("settle bench reconcile: \(figures.records) statement records against \(figures.ledger_transfers) ledger transfers")
            print("  reconcile (median of \(rounds)) : \(f(figures.reconcile_median_s)) s   rounds \(figures.reconcile_seconds.map(f))")
            print("  plain COPY of the same records : \(f(figures.copy_median_s)) s   rounds \(figures.copy_seconds.map(f))")
            print("  reconcile / COPY               : \(f(figures.ratio_to_copy))")
            print("  peak resident memory (VmHWM)   : \(f(figures.peak_rss_mib)) MiB")
            print(
                "  breaks                         : \(figures.breaks.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
            )
            print("  setup (booking the ledger side): \(f(figures.setup_seconds)) s")
        }
    }

    func measure(_ ledger: PostgresLedger) async throws -> Figures {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let plan = BenchDay(
            railID: "rb-\(tag)", asset: try AssetID("rb-\(tag)-usd"), count: records, day: try ReconciliationDay("2026-11-18"))
        let setupStart = ContinuousClock.now
        let transfers = try await plan.book(ledger)
        let setup = (ContinuousClock.now - setupStart).seconds
        let rail = BenchRail(plan: plan)
        let profile = ReconciliationProfile(statementTransitions: ["received"], slaSeconds: 86_400)
        let asOf = plan.day.cutoff.addingTimeInterval(2 * 86_400)
        var reconcileTimes: [Double] = []
        var copyTimes: [Double] = []
        var breaks: [String: Int64] = [:]
        for _ in 0..<rounds {
            let start = ContinuousClock.now
            let run = try await Reconciler(ledger: ledger, pageSize: pageSize).run(rail: rail, day: plan.day, profile: profile, asOf: asOf)
            reconcileTimes.append((ContinuousClock.now - start).seconds)
            guard run.status == .complete else { throw CommandFailure(description: "bench: the run is \(run.status): \(run.error ?? "")") }
            breaks = run.counts.filter { BreakCode(rawValue: $0.key) != nil }
            let expected = plan.expectedBreaks
            guard breaks == expected else {
                throw CommandFailure(description: "bench: expected breaks \(expected), the run found \(breaks)")
            }
            copyTimes.append(try await copyBaseline(ledger, rail: rail, plan: plan))
        }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        return Figures(
            records: records, ledger_transfers: transfers, rounds: rounds, reconcile_seconds: reconcileTimes, copy_seconds: copyTimes,
            reconcile_median_s: median(reconcileTimes), copy_median_s: median(copyTimes),
            ratio_to_copy: median(reconcileTimes) / median(copyTimes), breaks: breaks, peak_rss_mib: Self.peakResidentMiB(),
            setup_seconds: setup)
    }

    /// The same records, paged from the same rail, COPYed into a bare unlogged table of the staging
    /// table's shape, one transaction per page: the floor under the reconciler's load phase.
    private func copyBaseline(_ ledger: PostgresLedger, rail: BenchRail, plan: BenchDay) async throws -> Double {
        let client = ledger.client
        try await client.query("create schema if not exists settle_bench")
        try await client.query("drop table if exists settle_bench.recon_copy")
        try await client.query("create unlogged table settle_bench.recon_copy (like settle.recon_statement)")
        let start = ContinuousClock.now
        var cursor: String?
        var ordinal: Int64 = 0
        repeat {
            let page = try await rail.statement(from: plan.day.start, to: plan.day.cutoff, cursor: cursor, pageSize: pageSize)
            var buffer = ByteBuffer()
            for record in page.records {
                CopyText.write(record, run: 0, ordinal: ordinal, into: &buffer)
                ordinal += 1
            }
            try await client.withTransaction(logger: ledger.logger) { conn in
                try await conn.query("set local search_path = settle_bench", logger: ledger.logger)
                try await conn.copyFrom(table: "recon_copy", logger: ledger.logger) { try await $0.write(buffer) }
            }
            cursor = page.hasMore ? page.nextCursor : nil
        } while cursor != nil
        let seconds = (ContinuousClock.now - start).seconds
        try await client.query("drop schema settle_bench cascade")
        return seconds
    }

    /// VmHWM of this process, in MiB.
    static func peakResidentMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kib = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kib / 1_024
    }
}

/// The benchmark's day: record k is `b<k>`, 1,000 + k % 977 base units at second k·86,399/N of the
/// day. One record in a thousand is a fault, in turn: an amount off by one, a record the ledger
/// lacks, and a record listed twice in place of one the rail lacks.
struct BenchDay: Sendable {
    var railID: String
    var asset: AssetID
    var count: Int
    var day: ReconciliationDay

    enum Fault { case none, amount, missingInLedger, duplicateForMissingInRail }

    func fault(_ k: Int) -> Fault {
        guard k % 1_000 == 7 else { return .none }
        switch (k / 1_000) % 3 {
        case 0: return .amount
        case 1: return .missingInLedger
        default: return .duplicateForMissingInRail
        }
    }

    func amount(_ k: Int) -> UInt64 { 1_000 + UInt64(k % 977) }
    func time(_ k: Int) -> Date { day.start.addingTimeInterval(TimeInterval(Int64(k) * 86_399 / Int64(count))) }

    var expectedBreaks: [String: Int64] {
        var counts: [String: Int64] = [:]
        for k in stride(from: 7, to: count, by: 1_000) {
            switch fault(k) {
            case .none: break
            case .amount: counts["amount_mismatch", default: 0] += 1
            case .missingInLedger: counts["missing_in_ledger", default: 0] += 1
            case .duplicateForMissingInRail:
                counts["duplicate", default: 0] += 1
                counts["missing_in_rail", default: 0] += 1
            }
        }
        return counts
    }

    /// The statement record at position k.
    func record(_ k: Int) -> StatementRecord {
        var reference = k
        var amount = amount(k)
        switch fault(k) {
        case .amount: amount += 1
        case .duplicateForMissingInRail: reference = k - 1
        case .none, .missingInLedger: break
        }
        return StatementRecord(
            reference: "b\(reference)", type: "charge", direction: .inbound, asset: asset, amount: UInt256(amount), status: "available",
            occurredAt: time(reference))
    }

    /// Books the ledger side: every k but the records the ledger lacks, spread over 64 account
    /// pairs, 3 batches of 8,000 in flight. Returns the number of transfers.
    func book(_ ledger: PostgresLedger) async throws -> Int {
        let rail = railID
        _ = try await ledger.client.query("insert into settle.rails (id) values (\(rail)) on conflict do nothing", logger: ledger.logger)
        _ = try await ledger.createAssets([Asset(id: asset, code: "USD", scale: 2)])
        let accounts = (0..<64).flatMap { n in
            [
                Account(id: AccountID(stringLiteralChecked: "\(rail):cash:\(n)"), asset: asset, normalSide: .debit),
                Account(id: AccountID(stringLiteralChecked: "\(rail):clearing:\(n)"), asset: asset, normalSide: .credit),
            ]
        }
        _ = try await ledger.createAccounts(accounts)
        let keys = (0..<count).filter { fault($0) != .missingInLedger }
        let batchSize = 8_000
        let chunks = stride(from: 0, to: keys.count, by: batchSize).map { keys[$0..<min($0 + batchSize, keys.count)] }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func start() {
                guard next < chunks.count else { return }
                let chunk = chunks[next]
                next += 1
                group.addTask {
                    let batch = chunk.map { k in
                        NewTransfer(
                            id: TransferID(stringLiteralChecked: "\(rail):received:b\(k)"),
                            .post([
                                .debit(AccountID(stringLiteralChecked: "\(rail):cash:\(k % 64)"), UInt256(amount(k))),
                                .credit(AccountID(stringLiteralChecked: "\(rail):clearing:\(k % 64)"), UInt256(amount(k))),
                            ]), effectiveAt: time(k), railReference: .init(rail: rail, reference: "received:b\(k)"))
                    }
                    try LedgerBench.expectCreated(try await ledger.post(batch))
                }
            }
            for _ in 0..<3 { start() }
            while try await group.next() != nil { start() }
        }
        return keys.count
    }
}

/// A rail whose statement is the benchmark's day, generated page by page: the bench holds no more
/// of it in memory than the reconciler does.
struct BenchRail: Rail {
    let plan: BenchDay
    var descriptor: RailDescriptor {
        RailDescriptor(
            id: plan.railID, kind: "bench", summary: "reconciliation benchmark", assets: [Asset(id: plan.asset, code: "USD", scale: 2)],
            capabilities: [.statements], fundFlow: FundFlow(states: ["received"], accounts: [], transitions: []))
    }

    func statement(from: Date, to: Date, cursor: String?, pageSize: Int) async throws(RailError) -> StatementPage {
        let start = Int(cursor ?? "0") ?? 0
        let end = min(plan.count, start + pageSize)
        return StatementPage(records: (start..<end).map(plan.record), nextCursor: String(end), hasMore: end < plan.count)
    }
}
