import Foundation
import Ledger
import PostgresNIO
import RailKit

/// The matching passes, all in SQL and in one transaction that also finishes the run: a run is
/// matched once or not at all.
extension Reconciler {
    /// A statement row as evidence (`s` aliases a row of the staged statement).
    static let railRow = """
        jsonb_build_object('ordinal', s.ordinal, 'reference', s.reference, 'type', s.type, 'direction', s.direction,
          'asset', s.asset, 'amount', s.amount::text, 'fee', s.fee::text, 'status', s.status, 'occurred_at', s.occurred_at,
          'details', s.details)
        """
    /// A ledger transfer as evidence (`l` aliases a row of the ledger side).
    static let ledgerRow = """
        jsonb_build_object('transfer_id', l.transfer_id, 'transition', l.transition, 'reference', l.reference,
          'asset', l.asset, 'amount', l.volume::text, 'fee', l.fee::text, 'effective_at', l.effective_at)
        """

    func match(
        _ state: RunState, descriptor: RailDescriptor, day: ReconciliationDay, profile: ReconciliationProfile, balances: [RailBalance]
    ) async throws(ReconciliationError) -> ReconciliationRun {
        let (run, rail, date, start, cutoff, asOf) = (state.id, descriptor.id, day.date, day.start, day.cutoff, state.asOf)
        let assets = descriptor.assets.map(\.id.rawValue)
        func ids(_ templates: [String]) -> [String] {
            templates.flatMap { t in assets.map { t.replacingOccurrences(of: "{asset}", with: $0) } }
        }
        let (feeAccounts, transitions, clearing) = (ids(profile.feeAccounts), profile.statementTransitions, profile.clearingAccounts)
        let (sla, clearingSLA, timeTolerance) = (profile.slaSeconds, profile.clearingSLASeconds, profile.timeToleranceSeconds)
        let amountTolerance = profile.amountTolerance.description
        let checkFees = !profile.feeAccounts.isEmpty
        let runRule = !profile.amountTolerance.isZero || profile.timeToleranceSeconds > 0
        let (railRow, ledgerRow) = (Self.railRow, Self.ledgerRow)
        let logger = self.logger
        try await database {
            try await client.withTransaction(logger: logger) { conn in
                // The run is matched once: a concurrent or repeated match of the same run waits here
                // and then finds it finished.
                let open = try await conn.query(
                    "select 1 from settle.recon_runs where id = \(run) and status = 'running' for update", logger: logger)
                var isOpen = false
                for try await _ in open { isOpen = true }
                guard isOpen else { return }

                try await conn.query(
                    PostgresQuery(
                        unsafeSQL: """
                            create temp table rs on commit drop as
                            select s.ordinal, s.reference, s.type, s.direction, s.asset, s.amount, s.fee, s.status, s.occurred_at,
                                   s.details, s.amount + case when s.direction = 'outbound' then s.fee else 0 end as gross,
                                   count(*) over (partition by s.reference) as copies,
                                   case when s.reference = '' or s.amount = 0 or s.occurred_at < $2 or s.occurred_at >= $3
                                          then 'malformed_record'
                                        when s.asset <> all($4) then 'unknown_asset'
                                        when row_number() over (partition by s.reference order by s.ordinal) > 1 then 'duplicate'
                                        else 'open' end as state
                              from settle.recon_statement s where s.run_id = $1
                            """, binds: try binds(run, start, cutoff, assets)), logger: logger)
                try await conn.query(
                    PostgresQuery(
                        unsafeSQL: """
                            create temp table rl on commit drop as
                            select t.seq, t.id as transfer_id, split_part(t.rail_ref, ':', 1) as transition,
                                   substr(t.rail_ref, strpos(t.rail_ref, ':') + 1) as reference, t.effective_at,
                                   min(a.asset_id) as asset,
                                   case when $6 then coalesce(max(e.amount) filter (where e.is_debit and e.amount > 0), 0)
                                        else coalesce(sum(e.amount) filter (where e.is_debit and e.amount > 0), 0) end as volume,
                                   coalesce(sum(e.amount) filter (where e.is_debit and e.amount > 0 and a.id = any($5)), 0) as fee
                              from settle.transfers t
                              join settle.entries e on e.transfer_seq = t.seq
                              join settle.accounts a on a.num = e.account_num
                             where t.rail = $1 and t.effective_at >= $2 and t.effective_at < $3
                               and split_part(t.rail_ref, ':', 1) = any($4)
                               and not exists (select 1 from settle.transfers c where c.parent_seq = t.seq and c.kind in (3, 4, 5))
                             group by t.seq
                            """, binds: try binds(rail, start, cutoff, transitions, feeAccounts, profile.amountMeasure == .largestDebit)),
                    logger: logger)
                try await conn.query("create index on rs (reference)", logger: logger)
                try await conn.query("create index on rl (reference)", logger: logger)
                try await conn.query("analyze rs", logger: logger)
                try await conn.query("analyze rl", logger: logger)
                try await conn.query(
                    """
                    create temp table found (code text not null, reference text, asset text, rail_amount numeric,
                      ledger_amount numeric, occurred_at timestamptz, evidence jsonb not null) on commit drop
                    """, logger: logger)

                // Rows that cannot take part: malformed, in an unknown asset, repeated references.
                try await conn.query(
                    PostgresQuery(
                        unsafeSQL: """
                            insert into found
                            select s.state, case when s.reference = '' then '#' || s.ordinal else s.reference end, s.asset, s.amount,
                                   null, s.occurred_at, jsonb_build_object('rail', jsonb_build_array(\(railRow)), 'ledger', '[]'::jsonb)
                              from rs s where s.state in ('malformed_record', 'unknown_asset')
                            """), logger: logger)
                try await conn.query(
                    PostgresQuery(
                        unsafeSQL: """
                            insert into found
                            select 'duplicate', s.reference, min(s.asset), min(s.amount), null, min(s.occurred_at),
                                   jsonb_build_object('rail', jsonb_agg(\(railRow) order by s.ordinal), 'ledger', '[]'::jsonb,
                                                      'copies', count(*))
                              from rs s where s.copies > 1 and s.state <> 'malformed_record' group by s.reference
                            """), logger: logger)

                // Pass 1: the natural key.
                try await conn.query(
                    """
                    create temp table pairs on commit drop as
                    select distinct on (s.ordinal) s.ordinal, l.seq, 'exact'::text as rule
                      from rs s join rl l on l.reference = s.reference and l.asset = s.asset
                     where s.state = 'open' order by s.ordinal, l.seq
                    """, logger: logger)
                try await conn.query("create index on pairs (seq)", logger: logger)
                try await conn.query("create index on pairs (ordinal)", logger: logger)
                try await conn.query("analyze pairs", logger: logger)

                // Pass 2: the profile's tolerances, one-to-one by mutual best candidate.
                if runRule {
                    try await conn.query(
                        PostgresQuery(
                            unsafeSQL: """
                                insert into pairs
                                select c.ordinal, c.seq, 'tolerance' from (
                                  select s.ordinal, l.seq,
                                         row_number() over (partition by s.ordinal order by abs(s.gross - l.volume),
                                           abs(extract(epoch from s.occurred_at - l.effective_at)), l.seq) as by_rail,
                                         row_number() over (partition by l.seq order by abs(s.gross - l.volume),
                                           abs(extract(epoch from s.occurred_at - l.effective_at)), s.ordinal) as by_ledger
                                    from rs s join rl l on l.asset = s.asset
                                   where s.state = 'open'
                                     and not exists (select 1 from pairs p where p.ordinal = s.ordinal)
                                     and not exists (select 1 from pairs p where p.seq = l.seq)
                                     and abs(s.gross - l.volume) <= $1::numeric
                                     and abs(extract(epoch from s.occurred_at - l.effective_at)) <= $2) c
                                 where c.by_rail = 1 and c.by_ledger = 1
                                """, binds: try binds(amountTolerance, Double(timeTolerance))), logger: logger)
                }

                // Matched pairs that disagree.
                try await conn.query(
                    PostgresQuery(
                        unsafeSQL: """
                            insert into found
                            select case when s.gross <> l.volume then 'amount_mismatch' else 'fee_mismatch' end, s.reference, s.asset,
                                   case when s.gross <> l.volume then s.gross else s.fee end,
                                   case when s.gross <> l.volume then l.volume else l.fee end, s.occurred_at,
                                   jsonb_build_object('rail', jsonb_build_array(\(railRow)), 'ledger', jsonb_build_array(\(ledgerRow)),
                                                      'rule', p.rule)
                              from pairs p join rs s on s.ordinal = p.ordinal join rl l on l.seq = p.seq
                             where p.rule = 'exact' and (s.gross <> l.volume or ($1 and s.fee <> l.fee))
                            """, binds: try binds(checkFees)), logger: logger)

                // One-to-many: a record against the sum of the transfers its group names.
                for group in profile.groups {
                    try await conn.query(
                        PostgresQuery(
                            unsafeSQL: """
                                insert into found
                                select 'group_mismatch', s.reference, s.asset, s.gross, coalesce(g.total, 0), s.occurred_at,
                                       jsonb_build_object('rail', jsonb_build_array(\(railRow)), 'ledger', coalesce(g.rows, '[]'::jsonb),
                                                          'group', s.details ->> $3)
                                  from pairs p join rs s on s.ordinal = p.ordinal
                                  left join lateral (
                                    select sum(case when split_part(t.rail_ref, ':', 1) = any($4) then v.volume else -v.volume end) as total,
                                           jsonb_agg(jsonb_build_object('transfer_id', t.id, 'amount', v.volume::text) order by t.seq) as rows
                                      from settle.transfers t
                                      cross join lateral (
                                        select coalesce(sum(e.amount) filter (where e.is_debit and e.amount > 0), 0) as volume
                                          from settle.entries e where e.transfer_seq = t.seq) v
                                     where t.rail = $1 and t.metadata ->> 'rail_parent' = s.details ->> $3
                                       and split_part(t.rail_ref, ':', 1) = any($4 || $5)) g on true
                                 where p.rule = 'exact' and s.type = $2 and s.details ? $3 and s.gross <> coalesce(g.total, 0)
                                """, binds: try binds(rail, group.statementType, group.detail, group.plus, group.minus)),
                        logger: logger)
                }

                // Whatever is left: timing inside the SLA, missing after it.
                try await conn.query(
                    PostgresQuery(
                        unsafeSQL: """
                            insert into found
                            select case when $1 - s.occurred_at < make_interval(secs => $2) then 'timing' else 'missing_in_ledger' end,
                                   s.reference, s.asset, s.gross, null, s.occurred_at,
                                   jsonb_build_object('rail', jsonb_build_array(\(railRow)), 'ledger', '[]'::jsonb, 'side', 'rail')
                              from rs s where s.state = 'open' and not exists (select 1 from pairs p where p.ordinal = s.ordinal)
                            """, binds: try binds(asOf, Double(sla))), logger: logger)
                try await conn.query(
                    PostgresQuery(
                        unsafeSQL: """
                            insert into found
                            select case when $1 - l.effective_at < make_interval(secs => $2) then 'timing' else 'missing_in_rail' end,
                                   l.reference, l.asset, null, l.volume, l.effective_at,
                                   jsonb_build_object('rail', '[]'::jsonb, 'ledger', jsonb_build_array(\(ledgerRow)), 'side', 'ledger')
                              from rl l where not exists (select 1 from pairs p where p.seq = l.seq)
                            """, binds: try binds(asOf, Double(sla))), logger: logger)

                // Clearing accounts at the cut-off: money older than the SLA still in them (first in,
                // first out) is a break; younger money is timing.
                try await conn.query(
                    """
                    insert into found
                    select case when c.overdue > 0 then 'clearing_not_zero' else 'timing' end, c.id, c.asset_id, null, abs(c.dn - c.cn),
                           \(cutoff),
                           jsonb_build_object('account', c.id, 'debits', c.dn::text, 'credits', c.cn::text,
                             'debits_before_sla', c.dold::text, 'credits_before_sla', c.cold::text, 'overdue', c.overdue::text,
                             'cutoff', \(cutoff), 'sla_seconds', \(clearingSLA))
                      from (select a.id, a.asset_id, n.dn, n.cn, o.dold, o.cold,
                                   greatest(0, o.dold - n.cn) + greatest(0, o.cold - n.dn) as overdue
                              from settle.accounts a
                              cross join lateral (select b.debits_posted + b.debits_pending as dn, b.credits_posted + b.credits_pending as cn
                                                    from settle.balance_at(a.num, \(cutoff)) b) n
                              cross join lateral (select b.debits_posted + b.debits_pending as dold,
                                                         b.credits_posted + b.credits_pending as cold
                                                    from settle.balance_at(a.num, \(cutoff) - make_interval(secs => \(Double(clearingSLA)))) b) o
                             where a.asset_id = any(\(assets)) and a.metadata ->> 'role' = any(\(clearing))) c
                     where c.dn <> c.cn
                    """, logger: logger)

                // Balance drift: the rail's own balance against the accounts that mirror it.
                // A balance per watched address names its accounts through its bindings, and is
                // referred to by the first of them.
                let pending = profile.balanceIncludesPending
                for balance in balances {
                    let accounts = profile.balanceAccounts.compactMap { balance.account(from: $0) }
                    let amount = (balance.amount.isNegative ? "-" : "") + balance.amount.magnitude.description
                    let (asset, source) = (balance.asset.rawValue, balance.source)
                    let reference = balance.bindings.isEmpty ? asset : accounts.first ?? asset
                    try await conn.query(
                        """
                        insert into found
                        select 'drift', \(reference), \(asset), \(amount)::numeric, l.total, \(cutoff),
                               jsonb_build_object('rail', jsonb_build_object('balance', \(amount), 'source', \(source)),
                                 'ledger', jsonb_build_object('balance', l.total::text, 'accounts', to_jsonb(\(accounts)::text[]),
                                   'includes_pending', \(pending)),
                                 'cutoff', \(cutoff))
                          from (select coalesce(sum(case when a.normal = 'D' then d - c else c - d end), 0) as total
                                  from settle.accounts a cross join lateral settle.balance_at(a.num, \(cutoff)) b
                                  cross join lateral (select b.debits_posted + case when \(pending) then b.debits_pending else 0 end as d,
                                                             b.credits_posted + case when \(pending) then b.credits_pending else 0 end as c) p
                                 where a.id = any(\(accounts))) l
                         where l.total <> \(amount)::numeric
                        """, logger: logger)
                }

                var counterparts: (checked: Int64, met: Int64) = (0, 0)
                for rule in profile.counterparts {
                    let (checked, met) = try await Self.checkCounterparts(
                        rule, rail: rail, start: start, cutoff: cutoff, asOf: asOf, conn: conn, logger: logger)
                    counterparts = (counterparts.checked + checked, counterparts.met + met)
                }

                try await conn.query(
                    """
                    insert into settle.recon_breaks (run_id, rail, day, code, fingerprint, reference, asset, rail_amount, ledger_amount,
                                                     occurred_at, first_seen, evidence)
                    select \(run), \(rail), \(date)::date, f.code, f.fingerprint, f.reference, f.asset, f.rail_amount, f.ledger_amount,
                           f.occurred_at,
                           least(\(date)::date, coalesce((select min(b.first_seen) from settle.recon_breaks b
                                                          where b.rail = \(rail) and b.fingerprint = f.fingerprint), \(date)::date)),
                           f.evidence
                      from (select found.*, code || ':' || coalesce(asset, '') || ':' || coalesce(reference, '') as fingerprint
                              from found) f
                    on conflict (run_id, fingerprint) do nothing
                    """, logger: logger)
                try await finish(
                    conn, run: run, rail: rail, date: date, balanceChecks: balances.count,
                    counterparts: profile.counterparts.isEmpty ? nil : counterparts)
            }
        }
        // The staged rows have done their work: the breaks keep the evidence of every difference.
        try await database {
            try await client.query("delete from settle.recon_statement where run_id = \(run)", logger: logger)
        }
        return try await ReconciliationStore(ledger: ledger).run(run)
    }

    /// Counts, the changes since the previous complete run of the day, and the run's end.
    private func finish(
        _ conn: PostgresConnection, run: Int64, rail: String, date: String, balanceChecks: Int, counterparts: (checked: Int64, met: Int64)?
    ) async throws {
        var counts: [String: Int64] = ["drift_checks": Int64(balanceChecks)]
        if let counterparts {
            counts["counterparts_checked"] = counterparts.checked
            counts["counterparts_met"] = counterparts.met
        }
        let totals = try await conn.query(
            """
            select (select count(*) from rs)::int8, (select count(*) from rl)::int8,
                   (select count(*) from pairs where rule = 'exact')::int8, (select count(*) from pairs where rule = 'tolerance')::int8
            """, logger: logger)
        for try await (statement, ledger, exact, rule) in totals.decode((Int64, Int64, Int64, Int64).self) {
            counts["statement_rows"] = statement
            counts["ledger_rows"] = ledger
            counts["matched_exact"] = exact
            counts["matched_rule"] = rule
        }
        let byCode = try await conn.query(
            "select code, count(*)::int8 from settle.recon_breaks where run_id = \(run) group by code", logger: logger)
        for try await (code, count) in byCode.decode((String, Int64).self) { counts[code] = count }
        // Matched pairs that disagree are breaks, not agreement.
        let disagreeing = ["amount_mismatch", "fee_mismatch", "group_mismatch"].reduce(Int64(0)) { $0 + (counts[$1] ?? 0) }
        counts["matched"] = max(0, (counts["matched_exact"] ?? 0) + (counts["matched_rule"] ?? 0) - disagreeing)

        var previous: Int64?
        let rows = try await conn.query(
            """
            select id from settle.recon_runs where rail = \(rail) and day = \(date)::date and status = 'complete' and id < \(run)
             order by id desc limit 1
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { previous = id }
        var changes = ReconciliationRun.Changes(previousRun: previous, new: [], gone: [])
        if let previous {
            for (a, b, isNew) in [(run, previous, true), (previous, run, false)] {
                let diff = try await conn.query(
                    """
                    select fingerprint from settle.recon_breaks where run_id = \(a)
                    except select fingerprint from settle.recon_breaks where run_id = \(b) order by 1 limit 1000
                    """, logger: logger)
                for try await fingerprint in diff.decode(String.self) {
                    if isNew { changes.new.append(fingerprint) } else { changes.gone.append(fingerprint) }
                }
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let countsJSON = String(decoding: try encoder.encode(counts), as: UTF8.self)
        let changesJSON = String(decoding: try encoder.encode(changes), as: UTF8.self)
        try await conn.query(
            """
            update settle.recon_runs set status = 'complete', phase = 'done', finished_at = now(), counts = \(countsJSON)::jsonb,
                   changes = \(changesJSON)::jsonb
             where id = \(run)
            """, logger: logger)
    }

    private func binds(_ values: any PostgresEncodable...) throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values { try bindings.append(value) }
        return bindings
    }
}
