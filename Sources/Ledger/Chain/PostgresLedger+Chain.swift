import Crypto
import PostgresNIO

extension PostgresLedger {
    /// Serialises chainers (the CLI and any worker) against each other, and checkpoints against
    /// them: only they take it, never the write path.
    static let chainLockKey: Int64 = 0x5345_5454_4c43  // "SETTLC"

    /// Chains every account whose `balances.version` is past its chained head, in bounded rounds
    /// of one transaction each, over the accounts in order; returns when every account was visited
    /// once. Safe to run at any time and from several processes: rounds take a lock of their own,
    /// never one the posting functions take.
    ///
    /// - Parameters:
    ///   - maxLinksPerRound: the most links one round computes and writes (one SHA-256 and one row
    ///     each), so that a round is short and a backlog does not hold a transaction open.
    ///   - maxAccountsPerRound: the most accounts one round looks at.
    ///   - maxLinksPerSecond: a budget (nil: as fast as it can). After a round the chainer waits
    ///     until its links fit the budget, so that on a machine whose cores the writers need, the
    ///     chain lags in bursts and catches up between them instead of taking a core from the
    ///     write path. The lag is the window in which an edit is not yet covered (decision 0031).
    @discardableResult
    public func advanceChain(
        maxLinksPerRound: Int = 10_000, maxAccountsPerRound: Int = 1_000, maxLinksPerSecond: Int? = nil
    ) async throws(LedgerError) -> ChainAdvance {
        guard maxLinksPerRound > 0, maxAccountsPerRound > 0, (maxLinksPerSecond ?? 1) > 0 else {
            throw LedgerError(
                .invalidInput, "a chain round takes at least one link and one account, and a budget at least one link a second")
        }
        var total = ChainAdvance()
        var cursor: Int64? = 0
        let start = ContinuousClock.now
        while let after = cursor {
            if Task.isCancelled { break }
            let (round, next) = try await advanceChainRound(after: after, maxAccounts: maxAccountsPerRound, maxLinks: maxLinksPerRound)
            total.add(round)
            cursor = next
            if let budget = maxLinksPerSecond, cursor != nil {
                let due = start.advanced(by: .seconds(Double(total.links) / Double(budget)))
                if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
            }
        }
        return total
    }

    /// One account to chain in a round: versions `from...to`, after `head` (nil before genesis).
    private struct ChainWork {
        var account: Int64
        var from: Int64
        var to: Int64
        var head: [UInt8]?
    }

    /// One round: accounts after `after` (in account order) that are behind, up to `maxLinks`
    /// links. Returns the cursor of the next round, nil when the accounts are all visited.
    func advanceChainRound(after: Int64, maxAccounts: Int, maxLinks: Int) async throws(LedgerError) -> (ChainAdvance, next: Int64?) {
        try await database {
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("select pg_advisory_xact_lock(\(Self.chainLockKey))", logger: logger)
                try await conn.query("select set_config('settle.chaining', 'on', true)", logger: logger)
                var plan: [ChainWork] = []
                var budget = maxLinks
                var seen = 0
                var next: Int64?
                for try await (account, version, through, head) in try await conn.query(
                    """
                    select b.account_num, b.version, h.through_version, h.head
                      from settle.balances b left join settle.chain_heads h on h.account_num = b.account_num
                     where b.account_num > \(after) and b.version > coalesce(h.through_version, -1)
                     order by b.account_num limit \(maxAccounts)
                    """, logger: logger
                ).decode((Int64, Int64, Int64?, ByteBuffer?).self) {
                    seen += 1
                    // An account that does not fit whole is finished by the next round, from its start.
                    guard next == nil else { continue }
                    let from = (through ?? -1) + 1
                    let to = min(version, from + Int64(budget) - 1)
                    plan.append(ChainWork(account: account, from: from, to: to, head: head.map { Array($0.readableBytesView) }))
                    budget -= Int(to - from + 1)
                    if to < version || budget == 0 { next = to < version ? account - 1 : account }
                }
                if next == nil, seen == maxAccounts, let last = plan.last { next = last.account }
                let round = try await chain(plan, on: conn)
                return (round, next)
            }
        }
    }

    /// Computes and writes the links of `plan`, and moves the heads.
    private func chain(_ plan: [ChainWork], on conn: PostgresConnection) async throws -> ChainAdvance {
        var round = ChainAdvance()
        round.rounds = 1
        guard !plan.isEmpty else { return round }
        var accounts: [Int64: ChainRows.Row] = [:]
        let newborn = plan.filter { $0.head == nil }.map(\.account)
        if !newborn.isEmpty {
            let rows = try await conn.query(
                PostgresQuery(
                    unsafeSQL: "select \(ChainRows.account.sql) from settle.accounts a where a.num = any($1)",
                    binds: try Self.binds(newborn)), logger: logger)
            for try await row in rows {
                if let account = try ChainRows.Row(row.makeRandomAccess(), at: 0, of: ChainRows.account) { accounts[account.key] = account }
            }
        }
        var entries: [Int64: [(ChainRows.Row, ChainRows.Row?)]] = [:]
        let ranges = plan.filter { $0.to >= 1 }
        if !ranges.isEmpty {
            let rows = try await conn.query(
                PostgresQuery(
                    unsafeSQL: """
                        select \(ChainRows.entry.sql), \(ChainRows.transfer.sql)
                          from unnest($1::int8[], $2::int8[], $3::int8[]) as w(num, lo, hi)
                          join settle.entries e on e.account_num = w.num and e.account_version between w.lo and w.hi
                          left join settle.transfers t on t.seq = e.transfer_seq
                         order by e.account_num, e.account_version
                        """,
                    binds: try Self.binds(ranges.map(\.account), ranges.map { max($0.from, 1) }, ranges.map(\.to))), logger: logger)
            for try await row in rows {
                let r = row.makeRandomAccess()
                guard let entry = try ChainRows.Row(r, at: 0, of: ChainRows.entry) else { continue }
                entries[entry.key, default: []].append((entry, try ChainRows.Row(r, at: ChainRows.entry.count, of: ChainRows.transfer)))
            }
        }
        var links: (accounts: [Int64], versions: [Int64], links: [ByteBuffer]) = ([], [], [])
        var heads: (accounts: [Int64], versions: [Int64], links: [ByteBuffer]) = ([], [], [])
        for work in plan {
            var version = work.from
            let start: [UInt8]
            if let head = work.head {
                start = head
            } else if let account = accounts[work.account] {
                start = HashChain.genesis(account)
                links.accounts.append(work.account)
                links.versions.append(0)
                links.links.append(ByteBuffer(bytes: start))
                version = 1
            } else {
                round.problems.append("account \(work.account): its row is missing; not chained")
                continue
            }
            var previous = start
            var stuck: String?
            for (entry, transfer) in entries[work.account] ?? [] where version <= work.to {
                guard entry.accountVersion == version else { break }
                guard let transfer else {
                    stuck = "account \(work.account) version \(version): transfer \(entry.transferSeq) is missing"
                    break
                }
                previous = HashChain.link(after: previous, entry: entry, transfer: transfer)
                links.accounts.append(work.account)
                links.versions.append(version)
                links.links.append(ByteBuffer(bytes: previous))
                version += 1
            }
            if stuck == nil, version <= work.to { stuck = "account \(work.account) version \(version): the entry is missing" }
            if let stuck { round.problems.append(stuck + "; chained through version \(version - 1)") }
            if version - 1 >= work.from {
                heads.accounts.append(work.account)
                heads.versions.append(version - 1)
                heads.links.append(ByteBuffer(bytes: previous))
            }
        }
        for problem in round.problems { logger.warning("chain: cannot advance", metadata: ["problem": "\(problem)"]) }
        guard !heads.accounts.isEmpty else { return round }
        try await conn.query(
            """
            insert into settle.chain_links (account_num, account_version, link)
            select * from unnest(\(links.accounts)::int8[], \(links.versions)::int8[], \(links.links)::bytea[])
            """, logger: logger)
        try await conn.query(
            """
            insert into settle.chain_heads (account_num, through_version, head)
            select * from unnest(\(heads.accounts)::int8[], \(heads.versions)::int8[], \(heads.links)::bytea[])
            on conflict (account_num) do update set through_version = excluded.through_version, head = excluded.head
            """, logger: logger)
        round.accounts = heads.accounts.count
        round.links = links.accounts.count
        return round
    }

    /// Binds for a query written as text (column lists are shared constants, so the query cannot
    /// be one interpolated literal).
    private static func binds(_ arrays: [Int64]...) throws -> PostgresBindings {
        var binds = PostgresBindings()
        for array in arrays { try binds.append(array, context: .default) }
        return binds
    }
}
