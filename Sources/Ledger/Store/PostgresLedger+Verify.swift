import PostgresNIO

/// The result of ``PostgresLedger/verify(examples:)``: each invariant with its violations.
public struct VerificationReport: Sendable, Hashable, Codable {
    public struct Check: Sendable, Hashable, Codable {
        /// Stable name of the invariant, e.g. `transfers_balanced`.
        public var name: String
        public var description: String
        /// How many violations were found.
        public var violations: Int
        /// Up to `examples` violations, each a human-readable line.
        public var examples: [String]
        public var passed: Bool { violations == 0 }
    }

    public var checks: [Check]
    public var accounts: Int
    public var transfers: Int
    public var entries: Int
    public var passed: Bool { checks.allSatisfy(\.passed) }
}

extension PostgresLedger {
    /// Checks every invariant of the books over one consistent snapshot of the database.
    public func verify(examples: Int = 20) async throws(LedgerError) -> VerificationReport {
        try await database {
            try await client.withConnection { conn in
                try await conn.query("begin isolation level repeatable read read only", logger: logger)
                do {
                    var checks: [VerificationReport.Check] = []
                    for invariant in Self.invariants {
                        var lines: [String] = []
                        var count = 0
                        let sql = "select count(*) over (), v from (\(invariant.sql)) x(v) limit \(examples)"
                        for try await (total, line) in try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                            .decode((Int64, String).self)
                        {
                            count = Int(total)
                            lines.append(line)
                        }
                        checks.append(.init(name: invariant.name, description: invariant.description, violations: count, examples: lines))
                    }
                    var counts: [Int] = []
                    for table in ["accounts", "transfers", "entries"] {
                        for try await n in try await conn.query(PostgresQuery(unsafeSQL: "select count(*) from settle.\(table)"), logger: logger)
                            .decode(Int64.self)
                        {
                            counts.append(Int(n))
                        }
                    }
                    try await conn.query("commit", logger: logger)
                    return VerificationReport(checks: checks, accounts: counts[0], transfers: counts[1], entries: counts[2])
                } catch {
                    _ = try? await conn.query("rollback", logger: logger)
                    throw error
                }
            }
        }
    }

    /// Each invariant is a query returning one text line per violation.
    private static let invariants: [(name: String, description: String, sql: String)] = [
        (
            "transfers_balanced", "every transfer's debits equal its credits, per asset, for posted and for pending amounts",
            """
            select format('transfer %s: %s %s debits-credits = %s', t.id, a.asset_id, case when e.is_pending then 'pending' else 'posted' end,
                          sum(case when e.is_debit then e.amount else -e.amount end))
              from settle.entries e join settle.transfers t on t.seq = e.transfer_seq join settle.accounts a on a.num = e.account_num
             group by t.id, a.asset_id, e.is_pending
            having sum(case when e.is_debit then e.amount else -e.amount end) <> 0
            """
        ),
        (
            "assets_balanced", "per asset, total debits equal total credits, posted and pending",
            """
            select format('asset %s: posted debits %s credits %s, pending debits %s credits %s', a.asset_id,
                          sum(b.debits_posted), sum(b.credits_posted), sum(b.debits_pending), sum(b.credits_pending))
              from settle.balances b join settle.accounts a on a.num = b.account_num
             group by a.asset_id
            having sum(b.debits_posted) <> sum(b.credits_posted) or sum(b.debits_pending) <> sum(b.credits_pending)
            """
        ),
        (
            "balances_match_entries", "every account's balance equals the sum of its entries and its version their count",
            """
            select format('account %s: balance (%s,%s,%s,%s v%s) but entries sum to (%s,%s,%s,%s, %s entries)', a.id,
                          b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending, b.version,
                          coalesce(s.dp, 0), coalesce(s.cp, 0), coalesce(s.dpe, 0), coalesce(s.cpe, 0), coalesce(s.n, 0))
              from settle.balances b join settle.accounts a on a.num = b.account_num
              left join (select account_num,
                                sum(amount) filter (where is_debit and not is_pending) dp,
                                sum(amount) filter (where not is_debit and not is_pending) cp,
                                sum(amount) filter (where is_debit and is_pending) dpe,
                                sum(amount) filter (where not is_debit and is_pending) cpe,
                                count(*) n, max(account_version) v
                           from settle.entries group by account_num) s on s.account_num = b.account_num
             where (b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending, b.version)
                   is distinct from (coalesce(s.dp, 0), coalesce(s.cp, 0), coalesce(s.dpe, 0), coalesce(s.cpe, 0), coalesce(s.n, 0))
                or coalesce(s.v, 0) <> coalesce(s.n, 0)
            """
        ),
        (
            "running_balances", "every entry's running balance is the previous one plus its amount, versions count 1, 2, 3, ...",
            """
            select format('account %s version %s: running balance does not follow from version %s', a.id, x.account_version, x.account_version - 1)
              from (select e.*,
                           lag(e.account_version, 1, 0::bigint) over w pv,
                           lag(e.debits_posted, 1, 0::numeric) over w pdp, lag(e.credits_posted, 1, 0::numeric) over w pcp,
                           lag(e.debits_pending, 1, 0::numeric) over w pdpe, lag(e.credits_pending, 1, 0::numeric) over w pcpe
                      from settle.entries e window w as (partition by e.account_num order by e.account_version)) x
              join settle.accounts a on a.num = x.account_num
             where x.account_version <> x.pv + 1
                or x.debits_posted <> x.pdp + case when x.is_debit and not x.is_pending then x.amount else 0 end
                or x.credits_posted <> x.pcp + case when not x.is_debit and not x.is_pending then x.amount else 0 end
                or x.debits_pending <> x.pdpe + case when x.is_debit and x.is_pending then x.amount else 0 end
                or x.credits_pending <> x.pcpe + case when not x.is_debit and x.is_pending then x.amount else 0 end
            """
        ),
        (
            "limits_respected", "no account with a limit ever broke it, at any entry",
            """
            select format('account %s version %s: %s', a.id, e.account_version,
                          case when a.flags = 1 then 'debits exceed credits' else 'credits exceed debits' end)
              from settle.entries e join settle.accounts a on a.num = e.account_num
             where (a.flags = 1 and e.debits_posted + e.debits_pending > e.credits_posted)
                or (a.flags = 2 and e.credits_posted + e.credits_pending > e.debits_posted)
            """
        ),
        (
            "entries_reference_transfers", "every entry belongs to a recorded transfer and a known account, every transfer has entries",
            """
            select format('entry of account %s version %s has no transfer %s', e.account_num, e.account_version, e.transfer_seq)
              from settle.entries e left join settle.transfers t on t.seq = e.transfer_seq where t.seq is null
            union all
            select format('entry of unknown account %s', e.account_num)
              from settle.entries e left join settle.accounts a on a.num = e.account_num where a.num is null
            union all
            select format('transfer %s has no entries', t.id)
              from settle.transfers t where not exists (select 1 from settle.entries e where e.transfer_seq = t.seq)
            """
        ),
        (
            "holds_consistent", "posts, voids and expiries resolve a pending transfer once; the released amount is what was held",
            """
            select format('transfer %s resolves %s, which is not a pending transfer', c.id, coalesce(p.id, 'nothing'))
              from settle.transfers c left join settle.transfers p on p.seq = c.parent_seq
             where c.kind in (2, 3, 5) and (p.seq is null or p.kind <> 1)
            union all
            select format('transfer %s releases %s but its hold %s held %s', c.id, r.released, p.id, h.held)
              from settle.transfers c join settle.transfers p on p.seq = c.parent_seq
              join lateral (select coalesce(-sum(amount) filter (where is_pending), 0) released from settle.entries where transfer_seq = c.seq) r on true
              join lateral (select coalesce(sum(amount), 0) held from settle.entries where transfer_seq = p.seq) h on true
             where c.kind in (2, 3, 5) and r.released <> h.held
            """
        ),
    ]
}
