import Foundation
import PostgresNIO

extension PostgresLedger {
    /// The balances of every account whose id starts with `prefix`, summed per asset, now or as of
    /// a past effective time.
    ///
    /// Read in one statement, so the sums are one consistent view of the books even while transfers
    /// commit. Now, it adds the running balances; as of a time, each account's balance comes from
    /// its latest snapshot plus the entries after it (`settle.balance_at`), never a scan of history.
    /// Sums are exact (`numeric`), whatever the number of accounts.
    /// - Throws: ``LedgerError/Code/malformedID`` when `prefix` cannot start an account id.
    public func rollUp(prefix: String, asOf: Date? = nil) async throws(LedgerError) -> [BalanceRollUp] {
        // Any prefix of an account id is itself shaped as one.
        guard AccountID.isValid(prefix) else {
            throw LedgerError(
                .malformedID,
                "a prefix must be 1-128 characters of [A-Za-z0-9._:/@+-] starting with a letter or digit, got \(prefix.debugDescription.prefix(140))"
            )
        }
        // `_` is a LIKE wildcard and a legal id character: escaped, so the prefix is taken literally.
        let pattern = prefix.replacingOccurrences(of: "_", with: "\\_") + "%"
        let rows: [(String, Int, String, String, String, String)] = try await database {
            let query: PostgresQuery
            if let asOf {
                query = """
                    select a.asset_id, count(*)::int, sum(v.debits_posted)::text, sum(v.credits_posted)::text,
                           sum(v.debits_pending)::text, sum(v.credits_pending)::text
                      from settle.accounts a cross join lateral settle.balance_at(a.num, \(asOf)) v
                     where a.id like \(pattern)
                     group by a.asset_id order by a.asset_id
                    """
            } else {
                query = """
                    select a.asset_id, count(*)::int, sum(b.debits_posted)::text, sum(b.credits_posted)::text,
                           sum(b.debits_pending)::text, sum(b.credits_pending)::text
                      from settle.accounts a join settle.balances b on b.account_num = a.num
                     where a.id like \(pattern)
                     group by a.asset_id order by a.asset_id
                    """
            }
            var rows: [(String, Int, String, String, String, String)] = []
            for try await row in try await client.query(query, logger: logger).decode((String, Int, String, String, String, String).self) {
                rows.append(row)
            }
            return rows
        }
        var result: [BalanceRollUp] = []
        for (asset, count, dp, cp, dpe, cpe) in rows {
            result.append(
                BalanceRollUp(
                    asset: try AssetID(asset), accounts: count, debitsPosted: try Self.sum(dp), creditsPosted: try Self.sum(cp),
                    debitsPending: try Self.sum(dpe), creditsPending: try Self.sum(cpe)))
        }
        return result
    }

    private static func sum(_ text: String) throws(LedgerError) -> UInt256 {
        guard let value = UInt256(decimal: text) else {
            throw LedgerError(.overflow, "a roll-up exceeds 2^256-1: \(text)")
        }
        return value
    }
}
