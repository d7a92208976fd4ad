import Foundation
import Ledger
import Logging
import PostgresNIO

/// Reads recorded runs and breaks, and records resolutions.
public struct ReconciliationStore: Sendable {
    public let ledger: PostgresLedger

    public init(ledger: PostgresLedger) {
        self.ledger = ledger
    }

    private var logger: Logger { ledger.logger }

    static let runColumns = """
        id, rail, to_char(day, 'YYYY-MM-DD'), time_zone, window_start, cutoff, status, started_at, finished_at, statement_rows,
        counts::text, changes::text, error
        """

    /// The run `id`.
    public func run(_ id: Int64) async throws(ReconciliationError) -> ReconciliationRun {
        let found = try await runs(
            PostgresQuery(unsafeSQL: "select \(Self.runColumns) from settle.recon_runs where id = $1", binds: binds(id)))
        guard let run = found.first else { throw ReconciliationError(.notFound, "no reconciliation run \(id)") }
        return run
    }

    /// Runs, newest first, optionally of one rail and one day.
    public func runs(rail: String? = nil, day: String? = nil, limit: Int = 100) async throws(ReconciliationError) -> [ReconciliationRun] {
        try await runs(
            PostgresQuery(
                unsafeSQL: """
                    select \(Self.runColumns) from settle.recon_runs
                     where ($1::text is null or rail = $1) and ($2::text is null or day = $2::date)
                     order by id desc limit $3
                    """, binds: binds(rail, day, Int64(limit))))
    }

    /// The latest finished run of each rail for `day`.
    public func latestRuns(day: String) async throws(ReconciliationError) -> [ReconciliationRun] {
        try await runs(
            PostgresQuery(
                unsafeSQL: """
                    select distinct on (rail) \(Self.runColumns) from settle.recon_runs
                     where day = $1::date and status <> 'running' order by rail, id desc
                    """, binds: binds(day)))
    }

    private func runs(_ query: PostgresQuery) async throws(ReconciliationError) -> [ReconciliationRun] {
        do {
            var result: [ReconciliationRun] = []
            let rows = try await ledger.client.query(query, logger: logger)
            for try await row in rows {
                let (id, rail, day, zone, start, cutoff, status, started, finished, count, counts, changes, error) = try row.decode(
                    (Int64, String, String, String, Date, Date, String, Date, Date?, Int64, String, String?, String?).self)
                let decoder = JSONDecoder()
                result.append(
                    ReconciliationRun(
                        id: id, rail: rail, day: day, timeZone: zone, windowStart: start, cutoff: cutoff,
                        status: ReconciliationRun.Status(rawValue: status) ?? .failed, startedAt: started, finishedAt: finished,
                        statementRows: count, counts: try decoder.decode([String: Int64].self, from: Data(counts.utf8)),
                        changes: try changes.map { try decoder.decode(ReconciliationRun.Changes.self, from: Data($0.utf8)) }, error: error))
            }
            return result
        } catch {
            throw ReconciliationError(.database, String(reflecting: error))
        }
    }

    static let breakColumns = """
        b.id, b.run_id, b.rail, to_char(b.day, 'YYYY-MM-DD'), b.code, b.fingerprint, b.reference, b.asset, b.rail_amount::text,
        b.ledger_amount::text, b.occurred_at, to_char(b.first_seen, 'YYYY-MM-DD'), (b.day - b.first_seen)::int8, b.evidence::text,
        r.kind, r.transfer_id, r.note, r.actor, r.resolved_at
        """
    /// A break's resolution is any resolution of the same fingerprint of the rail.
    static let resolutionJoin = """
        left join lateral (select x.* from settle.recon_resolutions x where x.rail = b.rail and x.fingerprint = b.fingerprint
                            order by x.resolved_at limit 1) r on true
        """

    /// The break `id`.
    public func breakRecord(_ id: Int64) async throws(ReconciliationError) -> ReconciliationBreak {
        let found = try await breaks(
            PostgresQuery(
                unsafeSQL: "select \(Self.breakColumns) from settle.recon_breaks b \(Self.resolutionJoin) where b.id = $1", binds: binds(id)
            ))
        guard let found = found.first else { throw ReconciliationError(.notFound, "no break \(id)") }
        return found
    }

    /// The breaks of a run (default: the latest finished run of each rail), optionally only open
    /// ones (not resolved, not timing).
    public func breaks(run: Int64? = nil, rail: String? = nil, day: String? = nil, openOnly: Bool = false, limit: Int = 1_000)
        async throws(ReconciliationError) -> [ReconciliationBreak]
    {
        try await breaks(
            PostgresQuery(
                unsafeSQL: """
                    select \(Self.breakColumns) from settle.recon_breaks b \(Self.resolutionJoin)
                     where ($1::int8 is not null and b.run_id = $1
                            or $1::int8 is null and b.run_id in (
                                 select distinct on (x.rail, x.day) x.id from settle.recon_runs x
                                  where x.status <> 'running' and ($2::text is null or x.rail = $2) and ($3::text is null or x.day = $3::date)
                                  order by x.rail, x.day, x.id desc))
                       and (not $4 or (r.kind is null and b.code <> 'timing'))
                     order by b.day desc, b.id limit $5
                    """, binds: binds(run, rail, day, openOnly, Int64(limit))))
    }

    private func breaks(_ query: PostgresQuery) async throws(ReconciliationError) -> [ReconciliationBreak] {
        do {
            var result: [ReconciliationBreak] = []
            let rows = try await ledger.client.query(query, logger: logger)
            for try await row in rows {
                let (
                    id, run, rail, day, code, fingerprint, reference, asset, railAmount, ledgerAmount, occurred, firstSeen, age, evidence,
                    kind,
                    transfer, note, actor, resolvedAt
                ) = try row.decode(
                    (
                        Int64, Int64, String, String, String, String, String?, String?, String?, String?, Date?, String, Int64, String,
                        String?,
                        String?, String?, String?, Date?
                    ).self)
                var resolution: ReconciliationBreak.Resolution?
                if let kind, let note, let actor, let resolvedAt {
                    resolution = .init(
                        kind: .init(rawValue: kind) ?? .explanation, transferID: transfer, note: note, actor: actor, resolvedAt: resolvedAt)
                }
                result.append(
                    ReconciliationBreak(
                        id: id, runID: run, rail: rail, day: day, code: BreakCode(rawValue: code) ?? .malformedRecord,
                        fingerprint: fingerprint,
                        reference: reference, asset: asset, railAmount: railAmount, ledgerAmount: ledgerAmount, occurredAt: occurred,
                        firstSeen: firstSeen, ageDays: Int(age),
                        evidence: try JSONDecoder().decode(JSONValue.self, from: Data(evidence.utf8)),
                        resolution: resolution))
            }
            return result
        } catch {
            throw ReconciliationError(.database, String(reflecting: error))
        }
    }

    /// Resolves break `id`: with `transfer`, posts that adjusting transfer first (it must be created
    /// or already exist with the same fields); without, records `note` as the explanation. Either way
    /// the resolution names `actor` and is kept for good.
    public func resolve(
        _ id: Int64, note: String, actor: String, transfer: NewTransfer? = nil, kind: ReconciliationBreak.Resolution.Kind? = nil
    )
        async throws(ReconciliationError) -> ReconciliationBreak
    {
        let record = try await breakRecord(id)
        if record.resolution != nil { throw ReconciliationError(.alreadyResolved, "break \(id) is already resolved") }
        if let transfer {
            let result: TransferResult
            do { result = try await ledger.post(transfer) } catch {
                throw ReconciliationError(.ledger, "the adjusting transfer failed: \(error)")
            }
            if case .rejected(let error) = result {
                throw ReconciliationError(.ledger, "the ledger refused the adjusting transfer: \(error)")
            }
        }
        let resolutionKind = (kind ?? (transfer == nil ? .explanation : .transfer)).rawValue
        let transferID = transfer?.id.rawValue
        let (rail, fingerprint) = (record.rail, record.fingerprint)
        do {
            try await ledger.client.query(
                """
                insert into settle.recon_resolutions (break_id, rail, fingerprint, kind, transfer_id, note, actor)
                values (\(id), \(rail), \(fingerprint), \(resolutionKind), \(transferID), \(note), \(actor))
                on conflict (break_id) do nothing
                """, logger: logger)
        } catch {
            throw ReconciliationError(.database, String(reflecting: error))
        }
        return try await breakRecord(id)
    }

    /// Binds for queries that cast every parameter (`$1::int8`), so a null needs no type.
    private func binds(_ values: (any PostgresEncodable)?...) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            // Every value passed here is a plain scalar, which always encodes.
            if let value { try! bindings.append(value) } else { bindings.appendNull() }
        }
        return bindings
    }
}
