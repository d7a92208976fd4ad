import PostgresNIO
import SettleTesting
import Testing

/// The schema choices that keep the Citus path of docs/operations.md open: the tables to be
/// distributed by account (balances, entries, snapshots) have `account_num` in their primary key and
/// in every unique index, since Citus enforces uniqueness only within a shard.
@Suite("Citus path")
struct CitusPathTests {
    static let distributedByAccount = ["balances", "entries", "balance_snapshots"]

    @Test(arguments: distributedByAccount)
    func everyUniqueIndexIncludesTheShardKey(table: String) async throws {
        let client = try await TestDatabase.client()
        var rows: [(String, Bool, [String])] = []
        for try await row in try await client.query(
            """
            select i.indexrelid::regclass::text, i.indisprimary,
                   coalesce((select array_agg(a.attname::text order by a.attname) from pg_attribute a
                              where a.attrelid = i.indrelid and a.attnum = any(i.indkey)), '{}')
              from pg_index i where i.indrelid = ('settle.' || \(table))::regclass and i.indisunique
            """, logger: TestDatabase.logger
        ).decode((String, Bool, [String]).self) {
            rows.append(row)
        }
        #expect(rows.filter(\.1).count == 1, "\(table) has a primary key")
        let without = rows.filter { !$0.2.contains("account_num") }
        #expect(without.isEmpty, "unique indexes of \(table) without the shard key: \(without.map(\.0))")
    }
}
