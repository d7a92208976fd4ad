import Foundation
@testable import Ledger
import PostgresNIO
import SettleTesting
import Testing

@Suite("Integrity: the database guards the books")
struct IntegrityTests {
    @Test func historyIsAppendOnlyAndWrittenOnlyByThePostingFunction() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "a")
        _ = try await b.post("x", [.debit(b.id("@world"), 5), .credit(b.id("a"), 5)])
        let client = b.ledger.client
        for sql in [
            "update settle.entries set amount = 1 where false",
            "delete from settle.entries where false",
            "update settle.transfers set kind = 0 where false",
            "delete from settle.transfers where false",
            "truncate settle.entries",
            "update settle.balances set debits_posted = 0 where false",
            "insert into settle.transfers (seq, id, kind, effective_at, recorded_at, request_hash) values (-1, 'forged', 0, now(), now(), '')",
        ] {
            await #expect(throws: PSQLError.self, "\(sql)") { try await client.query(PostgresQuery(unsafeSQL: sql)) }
        }
    }

    @Test func verifyPassesOnHealthyBooksAndCatchesCorruption() async throws {
        let url = try await TestDatabase.isolatedDatabase()
        defer { Task { try? await TestDatabase.dropIsolated(url) } }
        try await withLedger(url) { ledger in
            _ = try await ledger.createAssets([Asset(id: "usd", code: "USD", scale: 2)])
            _ = try await ledger.createAccounts([
                Account(id: "world", asset: "usd", normalSide: .debit), Account(id: "a", asset: "usd", normalSide: .credit, limit: .debitsMustNotExceedCredits),
            ])
            _ = try await ledger.post(NewTransfer(id: "t1", .post([.debit("world", 10), .credit("a", 10)])))
            _ = try await ledger.post(NewTransfer(id: "h1", .hold([.debit("a", 4), .credit("world", 4)], timeout: nil)))
            _ = try await ledger.post(NewTransfer(id: "c1", .postHold("h1", amount: 3)))
            #expect(try await ledger.verify().passed)
            // Corrupt a balance behind the triggers' back, as a rogue superuser could.
            try await ledger.client.withConnection { conn in
                try await conn.query("set session_replication_role = replica", logger: TestDatabase.logger)
                try await conn.query("update settle.balances set credits_posted = credits_posted + 1 where account_num = (select num from settle.accounts where id = 'a')", logger: TestDatabase.logger)
                try await conn.query("set session_replication_role = origin", logger: TestDatabase.logger)
            }
            let report = try await ledger.verify()
            #expect(!report.passed)
            let failed = Set(report.checks.filter { !$0.passed }.map(\.name))
            #expect(failed == ["assets_balanced", "balances_match_entries"])
            #expect(report.checks.first { $0.name == "balances_match_entries" }?.examples.first?.contains("account a") == true)
        }
    }

    @Test func migrationsAreIdempotent() async throws {
        let ledger = try await TestDatabase.ledger()
        #expect(try await ledger.migrate() == [])
        #expect(try await ledger.schemaIsCurrent())
    }
}

@Suite("SQL script splitting")
struct SQLScriptTests {
    @Test func splitsAtTopLevelSemicolonsOnly() {
        let script = """
            -- a comment; with a semicolon
            create table x (a text default 'a;b');
            /* block; comment */
            create function f() returns int language plpgsql as $fn$ begin return 1; end $fn$;
            select $$;$$, "we;ird", $1;
            """
        let parts = SQLScript.split(script)
        #expect(parts.count == 3)
        #expect(parts[1].hasSuffix("$fn$"))
        #expect(parts[2].hasPrefix("select $$;$$"))
    }
}
