import Foundation
import PostgresNIO

extension PostgresLedger {
    /// The outcome of creating a monitor.
    public struct MonitorCreation: Sendable, Hashable {
        public var monitor: BalanceMonitor
        /// False when a monitor with this id and condition existed already.
        public var created: Bool
        /// Whether the condition holds on the balance now: a monitor fires on the next crossing,
        /// so one created while its condition holds fires only after the balance left and came back.
        public var holdsNow: Bool
    }

    /// Creates a balance monitor; the same id with the same condition (and re-arm level) is
    /// answered as existing.
    /// - Throws: ``LedgerError/Code/malformedID``, ``LedgerError/Code/invalidRearm``,
    ///   ``LedgerError/Code/accountNotFound``, ``LedgerError/Code/existsWithDifferentFields``.
    public func createMonitor(_ monitor: BalanceMonitor) async throws(LedgerError) -> MonitorCreation {
        guard BalanceMonitor.isValidID(monitor.id) else {
            throw LedgerError(.malformedID, "a monitor id is 1-128 characters of [A-Za-z0-9._:/@+-] starting with a letter or digit")
        }
        try monitor.validateRearm()
        let threshold = monitor.threshold.description
        let rearm = monitor.rearm?.description
        let row: (Bool, Bool, String, String, String, String, String?, Bool, Date, Bool)? = try await database {
            let query: PostgresQuery = """
                with acc as (select a.num, a.normal from settle.accounts a where a.id = \(monitor.account.rawValue)),
                ins as (
                    insert into settle.balance_monitors (id, account_num, balance, operator, threshold, rearm)
                    select \(monitor.id), acc.num, \(monitor.measure.rawValue), \(monitor.operator.rawValue), \(threshold)::numeric,
                           \(rearm)::numeric
                      from acc
                    on conflict (id) do nothing
                    returning num, id, account_num, balance, operator, threshold, rearm, armed, created_at)
                select ins.num is not null, true, a.id, ins.balance, ins.operator, ins.threshold::text, ins.rearm::text,
                       ins.armed, ins.created_at,
                       settle.monitor_holds(ins.operator,
                           settle.monitor_value(a.normal, ins.balance, b.debits_posted, b.credits_posted,
                                                b.debits_pending, b.credits_pending), ins.threshold)
                  from ins join settle.accounts a on a.num = ins.account_num join settle.balances b on b.account_num = a.num
                union all
                select false, false, a.id, m.balance, m.operator, m.threshold::text, m.rearm::text, m.armed, m.created_at,
                       settle.monitor_holds(m.operator,
                           settle.monitor_value(a.normal, m.balance, b.debits_posted, b.credits_posted,
                                                b.debits_pending, b.credits_pending), m.threshold)
                  from settle.balance_monitors m join settle.accounts a on a.num = m.account_num
                  join settle.balances b on b.account_num = a.num
                 where m.id = \(monitor.id) and not exists (select 1 from ins)
                """
            for try await row in try await client.query(query, logger: logger).decode(
                (Bool, Bool, String, String, String, String, String?, Bool, Date, Bool).self)
            {
                return row
            }
            return nil
        }
        guard let (created, _, account, measure, op, storedThreshold, storedRearm, armed, createdAt, holds) = row else {
            throw LedgerError(.accountNotFound, "account \(monitor.account) does not exist")
        }
        let stored = try Self.monitor(monitor.id, account, measure, op, storedThreshold, storedRearm, armed, createdAt)
        if !created {
            guard stored.account == monitor.account, stored.measure == monitor.measure, stored.operator == monitor.operator,
                stored.threshold == monitor.threshold, stored.rearm == monitor.rearm
            else {
                throw LedgerError(.existsWithDifferentFields, "monitor \(monitor.id) exists with a different condition")
            }
        }
        return MonitorCreation(monitor: stored, created: created, holdsNow: holds)
    }

    /// The monitors, of one account or of every account whose id starts with `accountPrefix`.
    public func monitors(accountPrefix: String = "") async throws(LedgerError) -> [BalanceMonitor] {
        let pattern = accountPrefix.replacingOccurrences(of: "_", with: "\\_") + "%"
        let rows: [(String, String, String, String, String, String?, Bool, Date)] = try await database {
            var rows: [(String, String, String, String, String, String?, Bool, Date)] = []
            let query: PostgresQuery = """
                select m.id, a.id, m.balance, m.operator, m.threshold::text, m.rearm::text, m.armed, m.created_at
                  from settle.balance_monitors m join settle.accounts a on a.num = m.account_num
                 where a.id like \(pattern)
                 order by m.id
                """
            for try await row in try await client.query(query, logger: logger).decode(
                (String, String, String, String, String, String?, Bool, Date).self)
            {
                rows.append(row)
            }
            return rows
        }
        var out: [BalanceMonitor] = []
        for (id, account, measure, op, threshold, rearm, armed, created) in rows {
            out.append(try Self.monitor(id, account, measure, op, threshold, rearm, armed, created))
        }
        return out
    }

    /// The monitor with this id, or nil.
    public func monitor(_ id: String) async throws(LedgerError) -> BalanceMonitor? {
        guard BalanceMonitor.isValidID(id) else { return nil }
        let row: (String, String, String, String, String?, Bool, Date)? = try await database {
            let query: PostgresQuery = """
                select a.id, m.balance, m.operator, m.threshold::text, m.rearm::text, m.armed, m.created_at
                  from settle.balance_monitors m join settle.accounts a on a.num = m.account_num
                 where m.id = \(id)
                """
            for try await row in try await client.query(query, logger: logger).decode(
                (String, String, String, String, String?, Bool, Date).self)
            {
                return row
            }
            return nil
        }
        guard let (account, measure, op, threshold, rearm, armed, created) = row else { return nil }
        return try Self.monitor(id, account, measure, op, threshold, rearm, armed, created)
    }

    /// Deletes a monitor; it fires no more.
    /// - Throws: ``LedgerError/Code/monitorNotFound``.
    public func deleteMonitor(_ id: String) async throws(LedgerError) {
        let deleted: Bool = try await database {
            let rows = try await client.query("delete from settle.balance_monitors where id = \(id) returning num", logger: logger)
            for try await _ in rows.decode(Int64.self) { return true }
            return false
        }
        guard deleted else { throw LedgerError(.monitorNotFound, "monitor \(id) does not exist") }
    }

    /// A stored row as a monitor; the table's checks keep measure and operator to known words.
    private static func monitor(
        _ id: String, _ account: String, _ measure: String, _ op: String, _ threshold: String, _ rearm: String?, _ armed: Bool,
        _ created: Date
    ) throws(LedgerError) -> BalanceMonitor {
        guard let measure = BalanceMonitor.Measure(rawValue: measure), let op = BalanceMonitor.Operator(rawValue: op) else {
            throw LedgerError(.database, "monitor \(id) has an unknown measure or operator: \(measure) \(op)")
        }
        let rearmAmount: SignedAmount? = if let rearm { try signed(rearm) } else { nil }
        return BalanceMonitor(
            id: id, account: AccountID(internal: account), measure: measure, operator: op, threshold: try signed(threshold),
            rearm: rearmAmount, armed: rearmAmount == nil ? nil : armed, createdAt: created)
    }
}
