import Foundation
import Ledger
import Logging
import Metrics
import NIOCore
import PostgresNIO
import RailKit

/// Reconciles one rail's day: streams the rail's statement into a per-run staging table (one COPY
/// per page, with the run's checkpoint in the same transaction), then matches it against the
/// ledger's transfers of that rail in SQL and records every difference as a typed break. Memory
/// stays that of one page, whatever the size of the day (docs/decisions/0016-reconciliation-in-sql.md).
///
/// - A run killed mid-way is resumed by the next call for the same rail and day, after its last
///   committed page: nothing is staged or matched twice.
/// - A rail that fails during the run leaves it `incomplete`: never green, retried by a new run.
/// - Re-running a finished day makes a new run and records what changed since the previous one;
///   automatic resolutions are transfers with ids derived from the break, so they book once.
public struct Reconciler: Sendable {
    public let ledger: PostgresLedger
    /// Statement records per page asked of the rail.
    public var pageSize: Int
    /// Who automatic resolutions are recorded as.
    public var actor: String

    public init(ledger: PostgresLedger, pageSize: Int = 500, actor: String = "settle reconcile") {
        self.ledger = ledger
        self.pageSize = pageSize
        self.actor = actor
    }

    var logger: Logger { ledger.logger }
    var client: PostgresClient { ledger.client }

    /// Reconciles `rail` for `day`, resuming an unfinished run of that day if there is one.
    /// - Parameters:
    ///   - profile: how to reconcile it (default: ``ReconciliationProfile/standard(for:)``).
    ///   - asOf: the time items are aged against (default: now).
    /// - Returns: the finished run (`complete`, or `incomplete` when the rail failed).
    /// - Throws: ``ReconciliationError`` when the database fails, or with code `interrupted` when
    ///   the task was cancelled (the run stays open and the next call resumes it).
    public func run(
        rail: any Rail, day: ReconciliationDay, profile: ReconciliationProfile? = nil, asOf: Date = Date()
    ) async throws(ReconciliationError) -> ReconciliationRun {
        let started = ContinuousClock.now
        let descriptor = rail.descriptor
        let profile = profile ?? .standard(for: descriptor)
        var state = try await openRun(descriptor: descriptor, day: day, profile: profile, asOf: asOf)
        do throws(RailError) {
            try await load(rail, day: day, state: &state)
        } catch {
            if Task.isCancelled { throw ReconciliationError(.interrupted, "run \(state.id) interrupted while loading; it resumes") }
            logger.error("reconciliation incomplete: the rail failed", metadata: ["rail": "\(descriptor.id)", "error": "\(error)"])
            return try await finishIncomplete(state, error: "\(error)")
        }
        var balances: [RailBalance] = []
        do throws(RailError) {
            balances = try await rail.balances(at: day.cutoff)
        } catch let error where error.code == .unsupported {
            logger.debug("the rail exposes no balance: no drift check", metadata: ["rail": "\(descriptor.id)", "error": "\(error)"])
            balances = []
        } catch {
            if Task.isCancelled { throw ReconciliationError(.interrupted, "run \(state.id) interrupted; it resumes") }
            return try await finishIncomplete(state, error: "balances: \(error)")
        }
        let run = try await match(state, descriptor: descriptor, day: day, profile: profile, balances: balances)
        try await autoResolve(run, profile: profile)
        Self.record(run, duration: ContinuousClock.now - started)
        return run
    }

    /// Where an open run stands.
    struct RunState: Sendable {
        var id: Int64
        var asOf: Date
        var cursor: String?
        var pages: Int
        var rows: Int64
    }

    private func openRun(
        descriptor: RailDescriptor, day: ReconciliationDay, profile: ReconciliationProfile, asOf: Date
    ) async throws(ReconciliationError) -> RunState {
        let rail = descriptor.id
        let existing: RunState? = try await database {
            let rows = try await client.query(
                """
                select id, as_of, statement_cursor, statement_pages, statement_rows from settle.recon_runs
                 where rail = \(rail) and day = \(day.date)::date and status = 'running' order by id desc limit 1
                """, logger: logger)
            for try await (id, asOf, cursor, pages, count) in rows.decode((Int64, Date, String?, Int, Int64).self) {
                return RunState(id: id, asOf: asOf, cursor: cursor, pages: pages, rows: count)
            }
            return nil
        }
        if var state = existing {
            // The staging table is unlogged: a database crash empties it. Start the load again then.
            let staged = try await database {
                let rows = try await client.query(
                    "select count(*)::int8 from settle.recon_statement where run_id = \(state.id)", logger: logger)
                for try await count in rows.decode(Int64.self) { return count }
                return 0
            }
            if staged != state.rows {
                logger.warning("staged statement rows lost: reloading", metadata: ["run": "\(state.id)"])
                try await database {
                    try await client.withTransaction(logger: logger) { conn in
                        try await conn.query("delete from settle.recon_statement where run_id = \(state.id)", logger: logger)
                        try await conn.query(
                            """
                            update settle.recon_runs set statement_cursor = null, statement_pages = 0, statement_rows = 0
                             where id = \(state.id)
                            """, logger: logger)
                    }
                }
                state.cursor = nil
                state.pages = 0
                state.rows = 0
            }
            logger.info("resuming reconciliation run", metadata: ["run": "\(state.id)", "pages": "\(state.pages)"])
            return state
        }
        let inputs = try Self.inputs(descriptor: descriptor, profile: profile, pageSize: pageSize)
        return try await database {
            let rows = try await client.query(
                """
                insert into settle.recon_runs (rail, day, time_zone, window_start, cutoff, as_of, inputs, status)
                values (\(rail), \(day.date)::date, \(day.timeZone.identifier), \(day.start), \(day.cutoff), \(asOf),
                        \(inputs)::jsonb, 'running')
                returning id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { return RunState(id: id, asOf: asOf, cursor: nil, pages: 0, rows: 0) }
            throw ReconciliationError(.database, "the run was not recorded")
        }
    }

    static func inputs(descriptor: RailDescriptor, profile: ReconciliationProfile, pageSize: Int) throws(ReconciliationError) -> String {
        struct Inputs: Encodable {
            var profile: ReconciliationProfile
            var assets: [String]
            var page_size: Int
            var rail_kind: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            let value = Inputs(
                profile: profile, assets: descriptor.assets.map(\.id.rawValue), page_size: pageSize, rail_kind: descriptor.kind)
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw ReconciliationError(.invalidInput, "the run's inputs cannot be encoded: \(error)")
        }
    }

    /// Streams the statement from the run's checkpoint: each page is staged by COPY and the
    /// checkpoint moved in one transaction.
    private func load(_ rail: any Rail, day: ReconciliationDay, state: inout RunState) async throws(RailError) {
        while true {
            let page = try await rail.statement(from: day.start, to: day.cutoff, cursor: state.cursor, pageSize: pageSize)
            if page.hasMore, page.nextCursor == nil || page.nextCursor == state.cursor {
                throw RailError(.protocolViolation, "the statement says it has more but its cursor does not move")
            }
            let (id, first) = (state.id, state.rows)
            let count = Int64(page.records.count)
            let pages = state.pages + 1
            let cursor = page.nextCursor
            do {
                try await client.withTransaction(logger: logger) { conn in
                    if !page.records.isEmpty {
                        var buffer = ByteBuffer()
                        for (offset, record) in page.records.enumerated() {
                            CopyText.write(record, run: id, ordinal: first + Int64(offset), into: &buffer)
                        }
                        // copyFrom quotes the name as one identifier: reach the schema by search_path.
                        try await conn.query("set local search_path = settle", logger: logger)
                        try await conn.copyFrom(table: "recon_statement", logger: logger) { try await $0.write(buffer) }
                    }
                    try await conn.query(
                        """
                        update settle.recon_runs set statement_cursor = \(cursor), statement_pages = \(pages),
                               statement_rows = statement_rows + \(count)
                         where id = \(id)
                        """, logger: logger)
                }
            } catch {
                throw RailError(.ledger, "staging the statement: \(String(reflecting: error))")
            }
            state.rows += count
            state.pages = pages
            state.cursor = cursor
            if !page.hasMore { return }
        }
    }

    private func finishIncomplete(_ state: RunState, error: String) async throws(ReconciliationError) -> ReconciliationRun {
        let id = state.id
        _ = try await database {
            try await client.query(
                """
                update settle.recon_runs set status = 'incomplete', finished_at = now(), error = \(error),
                       counts = jsonb_build_object('statement_rows', statement_rows)
                 where id = \(id)
                """, logger: logger)
        }
        let run = try await ReconciliationStore(ledger: ledger).run(id)
        Self.record(run, duration: nil)
        return run
    }

    /// Runs `body`, turning database errors into ``ReconciliationError``.
    func database<T>(_ body: () async throws -> T) async throws(ReconciliationError) -> T {
        do {
            return try await body()
        } catch let error as ReconciliationError {
            throw error
        } catch {
            throw ReconciliationError(.database, String(reflecting: error))
        }
    }

    /// Metrics of a finished run: breaks by code, duration, and the time of the last clean run.
    static func record(_ run: ReconciliationRun, duration: Duration?) {
        for code in BreakCode.allCases {
            Gauge(label: "settle_reconciliation_breaks", dimensions: [("rail", run.rail), ("code", code.rawValue)])
                .record(Double(run.counts[code.rawValue] ?? 0))
        }
        if let duration {
            Metrics.Timer(label: "settle_reconciliation_run_duration_seconds", dimensions: [("rail", run.rail)])
                .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        }
        Counter(label: "settle_reconciliation_runs_total", dimensions: [("rail", run.rail), ("status", run.status.rawValue)]).increment()
        if run.isClean {
            Gauge(label: "settle_reconciliation_last_success_timestamp_seconds", dimensions: [("rail", run.rail)])
                .record(Date().timeIntervalSince1970)
        }
    }
}
