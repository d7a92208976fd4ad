import Foundation
import Logging
import PostgresNIO

extension Reconciler {
    /// One cross-rail rule, in the run's transaction: each transfer of the rule's transition in
    /// the day against the first transfer of the other rail whose metadata names it. Both sides
    /// are ledger transfers, booked by their own rails, so the check reads no rail.
    static func checkCounterparts(
        _ rule: ReconciliationProfile.CounterpartRule, rail: String, start: Date, cutoff: Date, asOf: Date,
        conn: PostgresConnection, logger: Logger
    ) async throws {
        var binds = PostgresBindings(capacity: 9)
        for value: any PostgresEncodable in [
            rail, start, cutoff, rule.transition, rule.rail, rule.counterpartTransition, rule.referenceKey, asOf,
            Double(rule.slaSeconds),
        ] {
            try binds.append(value)
        }
        try await conn.query(
            PostgresQuery(
                unsafeSQL: """
                    insert into found
                    select case when c.seq is not null then 'counterpart_mismatch'
                                when $8 - t.effective_at < make_interval(secs => $9) then 'timing'
                                else 'counterpart_missing' end,
                           t.reference, t.asset, c.volume, t.volume, t.effective_at,
                           jsonb_build_object(
                             'ledger', jsonb_build_array(jsonb_build_object('transfer_id', t.id, 'transition', $4::text,
                               'reference', t.reference, 'asset', t.asset, 'amount', t.volume::text, 'effective_at', t.effective_at)),
                             'counterpart', case when c.seq is null then '[]'::jsonb else jsonb_build_array(jsonb_build_object(
                               'rail', $5::text, 'transfer_id', c.id, 'reference', c.reference, 'amount', c.volume::text,
                               'effective_at', c.effective_at)) end,
                             'rule', jsonb_build_object('rail', $5::text, 'counterpart_transition', $6::text,
                               'reference_key', $7::text, 'sla_seconds', $9))
                      from (select t.seq, t.id, substr(t.rail_ref, strpos(t.rail_ref, ':') + 1) as reference, t.effective_at,
                                   min(a.asset_id) as asset,
                                   coalesce(sum(e.amount) filter (where e.is_debit and e.amount > 0), 0) as volume
                              from settle.transfers t
                              join settle.entries e on e.transfer_seq = t.seq
                              join settle.accounts a on a.num = e.account_num
                             where t.rail = $1 and t.effective_at >= $2 and t.effective_at < $3
                               and split_part(t.rail_ref, ':', 1) = $4
                             group by t.seq) t
                      left join lateral (
                        select c.seq, c.id, substr(c.rail_ref, strpos(c.rail_ref, ':') + 1) as reference, c.effective_at,
                               (select coalesce(sum(e.amount) filter (where e.is_debit and e.amount > 0), 0)
                                  from settle.entries e where e.transfer_seq = c.seq) as volume
                          from settle.transfers c
                         where c.rail = $5 and split_part(c.rail_ref, ':', 1) = $6 and c.metadata ->> $7 = t.reference
                         order by c.seq limit 1) c on true
                     where c.seq is null or c.volume <> t.volume
                    """, binds: binds), logger: logger)
    }
}
