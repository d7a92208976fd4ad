import Foundation
import Logging
import PostgresNIO

extension Reconciler {
    /// One cross-rail rule, in the run's transaction: each transfer of the rule's transition in
    /// the day against the first transfer of the other rail whose metadata names it (names its
    /// reference, or its parent's: the break then carries the parent, the id the other rail knows).
    /// Both sides are ledger transfers, booked by their own rails, so the check reads no rail.
    /// Returns how many transfers it checked and how many were met in full: a match leaves no
    /// break behind, and the run's counts are where it shows.
    static func checkCounterparts(
        _ rule: ReconciliationProfile.CounterpartRule, rail: String, start: Date, cutoff: Date, asOf: Date,
        conn: PostgresConnection, logger: Logger
    ) async throws -> (checked: Int64, met: Int64) {
        var binds = PostgresBindings(capacity: 10)
        for value: any PostgresEncodable in [
            rail, start, cutoff, rule.transition, rule.rail, rule.counterpartTransition, rule.referenceKey, asOf,
            Double(rule.slaSeconds), rule.matchedBy.rawValue,
        ] {
            try binds.append(value)
        }
        // One statement: what is checked, the breaks inserted from it, and the tally (a
        // data-modifying `with` runs whether or not the outer select reads it).
        let rows = try await conn.query(
            PostgresQuery(
                unsafeSQL: """
                    with checked as (
                      select t.seq, t.id, t.reference, t.asset, t.volume, t.effective_at,
                             c.seq as c_seq, c.id as c_id, c.reference as c_reference, c.volume as c_volume, c.effective_at as c_effective_at
                        from (select t.seq, t.id, t.effective_at,
                                     case when $10::text = 'parent' then t.metadata ->> 'rail_parent'
                                          else substr(t.rail_ref, strpos(t.rail_ref, ':') + 1) end as reference,
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
                           order by c.seq limit 1) c on true),
                    inserted as (
                      insert into found
                      select case when t.c_seq is not null then 'counterpart_mismatch'
                                  when $8 - t.effective_at < make_interval(secs => $9) then 'timing'
                                  else 'counterpart_missing' end,
                             t.reference, t.asset, t.c_volume, t.volume, t.effective_at,
                             jsonb_build_object(
                               'ledger', jsonb_build_array(jsonb_build_object('transfer_id', t.id, 'transition', $4::text,
                                 'reference', t.reference, 'asset', t.asset, 'amount', t.volume::text, 'effective_at', t.effective_at)),
                               'counterpart', case when t.c_seq is null then '[]'::jsonb else jsonb_build_array(jsonb_build_object(
                                 'rail', $5::text, 'transfer_id', t.c_id, 'reference', t.c_reference, 'amount', t.c_volume::text,
                                 'effective_at', t.c_effective_at)) end,
                               'rule', jsonb_build_object('rail', $5::text, 'counterpart_transition', $6::text,
                                 'reference_key', $7::text, 'sla_seconds', $9, 'matched_by', $10::text))
                        from checked t
                       where t.c_seq is null or t.c_volume <> t.volume
                      returning 1)
                    select count(*)::int8, (count(*) filter (where c_seq is not null and c_volume = volume))::int8 from checked
                    """, binds: binds), logger: logger)
        for try await (checked, met) in rows.decode((Int64, Int64).self) { return (checked, met) }
        return (0, 0)
    }
}
