import Foundation
import PostgresNIO

extension PostgresLedger {
    /// The account's balance now, or as of a past effective time.
    ///
    /// `asOf` counts every transfer recorded so far whose effective time is at or before it,
    /// including back-dated ones recorded later.
    public func balance(of id: AccountID, asOf: Date? = nil) async throws(LedgerError) -> Balance {
        guard let asOf else {
            guard let balance = try await balances(of: [id])[id] else {
                throw LedgerError(.accountNotFound, "account \(id) does not exist")
            }
            return balance
        }
        let row: (String, String, String, String, String, Int64)? = try await database {
            let query: PostgresQuery = """
                select a.normal::text, v.debits_posted::text, v.credits_posted::text, v.debits_pending::text,
                       v.credits_pending::text, v.through_version
                  from settle.accounts a cross join lateral settle.balance_at(a.num, \(asOf)) v
                 where a.id = \(id.rawValue)
                """
            for try await row in try await client.query(query, logger: logger).decode((String, String, String, String, String, Int64).self)
            {
                return row
            }
            return nil
        }
        guard let (normal, dp, cp, dpe, cpe, version) = row else {
            throw LedgerError(.accountNotFound, "account \(id) does not exist")
        }
        return try Self.balance(id, normal, dp, cp, dpe, cpe, version, asOf: asOf)
    }

    /// The current balances of several accounts in one query; accounts that do not exist are
    /// missing from the result.
    public func balances(of ids: [AccountID]) async throws(LedgerError) -> [AccountID: Balance] {
        let requested = Dictionary(ids.map { ($0.rawValue, $0) }, uniquingKeysWith: { first, _ in first })
        let rows: [BalancesQuery.Row] = try await database {
            var rows: [BalancesQuery.Row] = []
            rows.reserveCapacity(requested.count)
            for try await row in try await client.execute(BalancesQuery(accounts: Array(requested.keys)), logger: logger) {
                rows.append(row)
            }
            return rows
        }
        var balances: [AccountID: Balance] = [:]
        balances.reserveCapacity(rows.count)
        for (id, normal, dp, cp, dpe, cpe, version) in rows {
            guard let account = requested[id] else { continue }
            balances[account] = try Self.balance(account, normal, dp, cp, dpe, cpe, version, asOf: nil)
        }
        return balances
    }

    private static func balance(
        _ id: AccountID, _ normal: String, _ dp: String, _ cp: String, _ dpe: String, _ cpe: String, _ version: Int64, asOf: Date?
    ) throws(LedgerError) -> Balance {
        Balance(
            account: id, debitsPosted: try amount(dp), creditsPosted: try amount(cp), debitsPending: try amount(dpe),
            creditsPending: try amount(cpe), version: version, normalSide: normal == "D" ? .debit : .credit, asOf: asOf)
    }

    /// The account's entries, newest first, `limit` per page.
    /// - Parameter cursor: ``Page/nextCursor`` of the previous page, or nil for the first.
    public func entries(of id: AccountID, limit: Int = 100, cursor: String? = nil) async throws(LedgerError) -> Page<Entry> {
        let limit = max(1, min(limit, 1_000))
        var before = Int64.max
        if let cursor {
            // Exactly the spelling `nextCursor` writes (`v` and a version without sign or leading
            // zero), so that the OpenAPI document can state it as a pattern: `Int64("+07")` alone
            // would also take `v+07`.
            let digits = cursor.utf8.dropFirst()
            guard cursor.hasPrefix("v"), digits.first != UInt8(ascii: "0"),
                digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let v = Int64(cursor.dropFirst()), v > 0
            else {
                throw LedgerError(.invalidCursor, "cursor \(cursor.debugDescription) is not one this ledger returned")
            }
            before = v
        }
        guard try await account(id) != nil else { throw LedgerError(.accountNotFound, "account \(id) does not exist") }
        let items: [Entry] = try await database {
            let query: PostgresQuery = """
                select e.account_version, t.id, t.kind, e.effective_at, t.recorded_at, e.is_debit, e.is_pending,
                       e.amount::text, e.debits_posted::text, e.credits_posted::text, e.debits_pending::text,
                       e.credits_pending::text
                  from settle.accounts a
                  join settle.entries e on e.account_num = a.num
                  join settle.transfers t on t.seq = e.transfer_seq
                 where a.id = \(id.rawValue) and e.account_version < \(before)
                 order by e.account_version desc
                 limit \(Int32(limit + 1))
                """
            var out: [Entry] = []
            for try await (v, tid, kind, eff, rec, debit, pending, amount, dp, cp, dpe, cpe) in try await client.query(
                query, logger: logger
            ).decode((Int64, String, Int16, Date, Date, Bool, Bool, String, String, String, String, String).self) {
                out.append(
                    Entry(
                        account: id, version: v, transfer: TransferID(internal: tid),
                        transferKind: Transfer.Kind(rawValue: kind) ?? .posted,
                        effectiveAt: eff, recordedAt: rec, direction: debit ? .debit : .credit, pending: pending,
                        amount: try Self.signed(amount), debitsPosted: try Self.amount(dp), creditsPosted: try Self.amount(cp),
                        debitsPending: try Self.amount(dpe), creditsPending: try Self.amount(cpe)))
            }
            return out
        }
        if items.count > limit {
            return Page(items: Array(items.prefix(limit)), nextCursor: "v\(items[limit - 1].version)")
        }
        return Page(items: items, nextCursor: nil)
    }

    /// The transfer with this id, with its lines, or nil.
    public func transfer(_ id: TransferID) async throws(LedgerError) -> Transfer? {
        try await database {
            let head: PostgresQuery = """
                select t.seq, t.kind, p.id, t.effective_at, t.recorded_at, t.expires_at, coalesce(t.metadata::text, '{}'),
                       t.rail, t.rail_ref,
                       (select c.kind from settle.transfers c where c.parent_seq = t.seq and c.kind in (2, 3, 5))
                  from settle.transfers t left join settle.transfers p on p.seq = t.parent_seq
                 where t.id = \(id.rawValue)
                """
            var found: Transfer?
            for try await (seq, kind, parent, eff, rec, exp, meta, rail, ref, resolution) in try await client.query(
                head, logger: logger
            ).decode((Int64, Int16, String?, Date, Date, Date?, String, String?, String?, Int16?).self) {
                let kind = Transfer.Kind(rawValue: kind) ?? .posted
                var hold: Transfer.HoldState?
                if kind == .pending {
                    switch resolution {
                    case 2: hold = .posted
                    case 3: hold = .voided
                    case 5: hold = .expired
                    default: hold = (exp.map { $0 <= Date() } ?? false) ? .expired : .pending
                    }
                }
                found = Transfer(
                    id: id, sequence: seq, kind: kind, parent: parent.map { TransferID(internal: $0) }, lines: [],
                    effectiveAt: eff, recordedAt: rec, expiresAt: exp, metadata: Metadata(jsonText: meta),
                    railReference: rail.flatMap { r in ref.map { .init(rail: r, reference: $0) } }, holdState: hold)
            }
            guard var transfer = found else { return nil }
            let lines: PostgresQuery = """
                select a.id, e.is_debit, e.is_pending, e.amount::text
                  from settle.entries e join settle.accounts a on a.num = e.account_num
                 where e.transfer_seq = \(transfer.sequence)
                 order by e.is_pending desc, e.account_version, a.id
                """
            for try await (account, debit, pending, amount) in try await client.query(lines, logger: logger).decode(
                (String, Bool, Bool, String).self)
            {
                transfer.lines.append(
                    .init(
                        account: AccountID(internal: account), direction: debit ? .debit : .credit, pending: pending,
                        amount: try Self.signed(amount)))
            }
            return transfer
        }
    }

    /// Records every account's balance as of `at`, so that later as-of queries start there.
    /// - Returns: how many accounts were snapshotted.
    @discardableResult
    public func takeSnapshots(at: Date) async throws(LedgerError) -> Int {
        try await database(retries: 3) {
            for try await n in try await client.query("select settle.take_snapshots(\(at))", logger: logger).decode(Int64.self) {
                return Int(n)
            }
            return 0
        }
    }

    static func amount(_ text: String) throws(LedgerError) -> UInt256 {
        guard let v = UInt256(decimal: text) else { throw LedgerError(.database, "the database returned a non-amount: \(text)") }
        return v
    }

    static func signed(_ text: String) throws(LedgerError) -> SignedAmount {
        guard let v = SignedAmount(decimal: text) else { throw LedgerError(.database, "the database returned a non-amount: \(text)") }
        return v
    }
}

/// The current balances of a set of accounts: the most frequent read of the API (in batches,
/// ``BalanceReads``), prepared once per pooled connection instead of parsed and planned each time.
struct BalancesQuery: PostgresPreparedStatement {
    typealias Row = (String, String, String, String, String, String, Int64)

    static let name = "settle_balances_v1"
    static let sql = """
        select a.id, a.normal::text, b.debits_posted::text, b.credits_posted::text, b.debits_pending::text,
               b.credits_pending::text, b.version
          from settle.accounts a join settle.balances b on b.account_num = a.num
         where a.id = any($1)
        """
    static let bindingDataTypes: [PostgresDataType] = [.textArray]

    var accounts: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(accounts)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
