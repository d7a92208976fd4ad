import Crypto
import Foundation
import PostgresNIO
import SettleTesting
import Testing

@testable import Ledger

/// The hash chain of decision 0031 on databases of their own (the chain covers every account of a
/// database, and these tests rewrite rows as a superuser with the triggers off).
@Suite("Hash chain: tamper evidence")
struct HashChainTests {
    /// A little ledger: world pays a and b, a pays b, a hold on b posted in part; then chained.
    struct Fixture {
        let ledger: PostgresLedger
        /// Account nums and transfer seqs by name.
        var accounts: [String: Int64] = [:]
        var transfers: [String: Int64] = [:]

        init(_ ledger: PostgresLedger) async throws {
            self.ledger = ledger
            _ = try await ledger.createAssets([Asset(id: "usd", code: "USD", scale: 2)])
            _ = try await ledger.createAccounts([
                Account(id: "world", asset: "usd", normalSide: .debit), Account(id: "a", asset: "usd", normalSide: .credit),
                Account(id: "b", asset: "usd", normalSide: .credit, metadata: ["tier": .string("gold")]),
            ])
            try await post("t1", .post([.debit("world", 10), .credit("a", 10)]))
            try await post("t2", .post([.debit("world", 5), .credit("b", 5)]), metadata: ["order": .number("1.50"), "é": .bool(true)])
            try await post("t3", .post([.debit("a", 3), .credit("b", 3)]))
            try await post("h1", .hold([.debit("b", 4), .credit("world", 4)], timeout: nil))
            try await post("c1", .postHold("h1", amount: 2))
            for try await (num, id) in try await ledger.client.query("select num, id from settle.accounts", logger: TestDatabase.logger)
                .decode((Int64, String).self)
            {
                accounts[id] = num
            }
        }

        mutating func post(_ id: String, _ action: NewTransfer.Action, metadata: Metadata = [:]) async throws {
            let result = try await ledger.post(NewTransfer(id: TransferID(stringLiteral: id), action, metadata: metadata))
            guard case .created(let receipt) = result else {
                Issue.record("\(id): \(result)")
                return
            }
            transfers[id] = receipt.sequence
        }

        /// Runs SQL as a superuser with every trigger off, as a rogue administrator could.
        func tamper(_ statements: String...) async throws {
            try await ledger.client.withConnection { conn in
                try await conn.query("set session_replication_role = replica", logger: TestDatabase.logger)
                for sql in statements { try await conn.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger) }
                try await conn.query("set session_replication_role = origin", logger: TestDatabase.logger)
            }
        }

        func verify(from: Int64? = nil, key: Curve25519.Signing.PublicKey? = nil) async throws -> ChainVerification {
            try await ledger.verifyChain(fromCheckpoint: from, publicKey: key)
        }
    }

    /// Runs `body` on a fixture in a database of its own, chained.
    func withFixture(_ body: (inout Fixture) async throws -> Void) async throws {
        let url = try await TestDatabase.isolatedDatabase()
        defer { Task { try? await TestDatabase.dropIsolated(url) } }
        try await withLedger(url) { ledger in
            var fixture = try await Fixture(ledger)
            let advance = try await ledger.advanceChain()
            #expect(advance.problems.isEmpty)
            try await body(&fixture)
        }
    }

    func entries(_ ledger: PostgresLedger) async throws -> Int {
        for try await n in try await ledger.client.query("select count(*) from settle.entries", logger: TestDatabase.logger).decode(
            Int64.self)
        {
            return Int(n)
        }
        return 0
    }

    @Test func chainerIsIdempotentAndIncremental() async throws {
        try await withFixture { f in
            let first = try await f.verify()
            #expect(first.passed, "\(first.findings)")
            #expect(first.accounts == 3)
            #expect(first.links == (try await entries(f.ledger)))
            // Nothing new: nothing written.
            let again = try await f.ledger.advanceChain()
            #expect(again.links == 0 && again.accounts == 0)
            // New entries only.
            try await f.post("t4", .post([.debit("world", 1), .credit("a", 1)]))
            _ = try await f.ledger.createAccounts([Account(id: "c", asset: "usd", normalSide: .credit)])
            let more = try await f.ledger.advanceChain()
            #expect(more.links == 3 && more.accounts == 3)
            #expect(try await f.verify().passed)
        }
    }

    @Test func roundsOfOneLinkGiveTheSameChain() async throws {
        let url = try await TestDatabase.isolatedDatabase()
        defer { Task { try? await TestDatabase.dropIsolated(url) } }
        try await withLedger(url) { ledger in
            _ = try await Fixture(ledger)
            let advance = try await ledger.advanceChain(maxLinksPerRound: 1, maxAccountsPerRound: 1)
            #expect(advance.links == 3 + (try await entries(ledger)))
            #expect(advance.rounds >= advance.links)
            let report = try await ledger.verifyChain(publicKey: nil)
            #expect(report.passed, "\(report.findings)")
        }
    }

    @Test func aBudgetPacesTheChainerAndGivesTheSameChain() async throws {
        let url = try await TestDatabase.isolatedDatabase()
        defer { Task { try? await TestDatabase.dropIsolated(url) } }
        try await withLedger(url) { ledger in
            _ = try await Fixture(ledger)
            let start = ContinuousClock.now
            // Rounds of two links at four links a second: the rounds after the first wait their turn.
            let advance = try await ledger.advanceChain(maxLinksPerRound: 2, maxAccountsPerRound: 1, maxLinksPerSecond: 4)
            let elapsed = ContinuousClock.now - start
            #expect(advance.links == 3 + (try await entries(ledger)))
            #expect(elapsed >= .seconds(Double(advance.links - 2) / 4), "\(elapsed) for \(advance.links) links")
            #expect(try await ledger.verifyChain(publicKey: nil).passed)
            do {
                _ = try await ledger.advanceChain(maxLinksPerSecond: 0)
                Issue.record("a budget of 0 links a second was taken")
            } catch { #expect((error as? LedgerError)?.code == .invalidInput) }
        }
    }

    @Test func anEditedEntryIsNamed() async throws {
        try await withFixture { f in
            let a = f.accounts["a"]!
            try await f.tamper("update settle.entries set amount = amount + 1 where account_num = \(a) and account_version = 1")
            let report = try await f.verify()
            #expect(!report.passed)
            let first = try #require(report.findings.first)
            #expect(first.problem == "link_mismatch")
            #expect(first.account == a && first.accountVersion == 1 && first.transferSeq == f.transfers["t1"])
            #expect(first.message.hasPrefix("entry (a #\(a), version 1) of transfer \(f.transfers["t1"]!) (t1): stored link ≠ recomputed"))
        }
    }

    @Test func anEditedTransferIsNamed() async throws {
        try await withFixture { f in
            try await f.tamper("update settle.transfers set metadata = '{\"order\": 1.5, \"é\": true}' where id = 't2'")
            let report = try await f.verify()
            // Both entries of t2 break, and nothing before it.
            let first = try #require(report.findings.first)
            #expect(first.problem == "link_mismatch" && first.transferSeq == f.transfers["t2"])
            #expect(Set(report.findings.map(\.transferSeq)) == [f.transfers["t2"]])
            #expect(report.violations == 2)
        }
    }

    @Test func aDeletedEntryAndADeletedTransferAreNamed() async throws {
        try await withFixture { f in
            let b = f.accounts["b"]!
            try await f.tamper("delete from settle.entries where account_num = \(b) and account_version = 2")
            var report = try await f.verify()
            var first = try #require(report.findings.first)
            #expect(first.problem == "entry_missing" && first.account == b && first.accountVersion == 2)
            #expect(first.message.contains("missing (table truncated?)"))
            try await f.tamper("delete from settle.transfers where id = 't1'")
            report = try await f.verify()
            first = try #require(report.findings.first)
            #expect(first.problem == "transfer_missing" && first.transferSeq == f.transfers["t1"])
        }
    }

    @Test func swappedVersionsAreCaught() async throws {
        try await withFixture { f in
            let b = f.accounts["b"]!
            try await f.tamper(
                "update settle.entries set account_version = -1 where account_num = \(b) and account_version = 1",
                "update settle.entries set account_version = 1 where account_num = \(b) and account_version = 2",
                "update settle.entries set account_version = 2 where account_num = \(b) and account_version = -1")
            let report = try await f.verify()
            let named = report.findings.filter { $0.problem == "link_mismatch" && $0.account == b && $0.accountVersion == 1 }
            #expect(!named.isEmpty, "\(report.findings)")
            #expect(Set(report.findings.map(\.account)) == [b])
        }
    }

    @Test func anAddedTransferIsNamed() async throws {
        try await withFixture { f in
            try await f.tamper(
                "insert into settle.transfers (seq, id, kind, effective_at, recorded_at, request_hash) values (99999, 'forged', 0, now(), now(), '')"
            )
            let report = try await f.verify()
            let first = try #require(report.findings.first)
            #expect(first.problem == "transfer_not_chained" && first.transferSeq == 99999)
            #expect(first.message == "transfer seq 99999 (forged) has no chained entry")
        }
    }

    @Test func aTruncatedTableIsNamed() async throws {
        try await withFixture { f in
            let chained = try await entries(f.ledger)
            try await f.tamper("truncate settle.entries")
            let report = try await f.verify()
            #expect(report.findings.first?.problem == "entry_missing")
            #expect(report.findings.first?.accountVersion == 1)
            // Every chained entry, and every transfer (they have no entry left).
            #expect(report.violations == chained + f.transfers.count)
            // The chainer goes on from the stored heads; what was lost stays reported.
            try await f.post("t5", .post([.debit("world", 1), .credit("a", 1)]))
            let advance = try await f.ledger.advanceChain()
            #expect(advance.links == 2 && advance.problems.isEmpty)
            #expect(try await f.verify().findings.first?.problem == "entry_missing")
        }
    }

    @Test func verificationFromACheckpoint() async throws {
        try await withFixture { f in
            let key = Curve25519.Signing.PrivateKey()
            let checkpoint = try await f.ledger.takeChainCheckpoint(signingKey: key)
            #expect(checkpoint.accounts == 3 && checkpoint.isSigned(by: key.publicKey))
            #expect(checkpoint.maxTransferSeq == f.transfers.values.max())
            try await f.post("t4", .post([.debit("world", 1), .credit("a", 1)]))
            try await f.ledger.advanceChain()
            var report = try await f.verify(from: checkpoint.id, key: key.publicKey)
            #expect(report.passed, "\(report.findings)")
            #expect(report.checkpointsChecked == [checkpoint.id])
            #expect(report.links == 2)
            #expect(report.coveredThroughSeq == checkpoint.maxTransferSeq)
            // An edit after the checkpoint is caught from it; one before it only from genesis.
            let world = f.accounts["world"]!
            try await f.tamper("update settle.entries set amount = amount + 1 where account_num = \(world) and account_version = 1")
            report = try await f.verify(from: checkpoint.id, key: key.publicKey)
            #expect(report.passed)
            report = try await f.verify(key: key.publicKey)
            #expect(report.findings.first?.problem == "link_mismatch" && report.findings.first?.account == world)
            let a = f.accounts["a"]!
            try await f.tamper("update settle.entries set amount = amount + 1 where account_num = \(a) and account_version = 3")
            report = try await f.verify(from: checkpoint.id, key: key.publicKey)
            #expect(report.findings.map(\.problem) == ["link_mismatch"])
            #expect(report.findings.first?.transferSeq == f.transfers["t4"])
            // A second checkpoint stores only the versions that moved.
            let second = try await f.ledger.takeChainCheckpoint(signingKey: key)
            for try await n in try await f.ledger.client.query(
                "select count(*) from settle.chain_checkpoint_heads where checkpoint_id = \(second.id)", logger: TestDatabase.logger
            ).decode(Int64.self) {
                #expect(n == 2)
            }
        }
    }

    @Test func aBadSignatureOrAnotherKeyIsCaught() async throws {
        try await withFixture { f in
            let key = Curve25519.Signing.PrivateKey()
            let checkpoint = try await f.ledger.takeChainCheckpoint(signingKey: key)
            let other = Curve25519.Signing.PrivateKey().publicKey
            var report = try await f.verify(from: checkpoint.id, key: other)
            #expect(report.findings.first?.problem == "checkpoint_key")
            report = try await f.verify(key: other)
            #expect(report.passed && report.checkpointsSkipped == [checkpoint.id])
            await #expect(throws: LedgerError.self) { try await f.verify(from: checkpoint.id + 1, key: key.publicKey) }
            // A signature changed by one bit.
            try await f.tamper("update settle.chain_checkpoints set signature = set_byte(signature, 0, get_byte(signature, 0) # 1)")
            report = try await f.verify(from: checkpoint.id, key: key.publicKey)
            #expect(report.findings.first?.problem == "checkpoint_signature")
            #expect(
                report.findings.first?.message
                    == "checkpoint \(checkpoint.id): the signature does not verify with key \(ChainKey.id(of: key.publicKey))")
        }
    }

    /// The attack the checkpoints are for: an entry edited and the chain recomputed over it. The
    /// links agree with the rows again; the signed root does not.
    @Test func aRewrittenChainIsCaughtByItsCheckpoint() async throws {
        try await withFixture { f in
            let key = Curve25519.Signing.PrivateKey()
            let checkpoint = try await f.ledger.takeChainCheckpoint(signingKey: key)
            let a = f.accounts["a"]!
            try await f.tamper(
                "update settle.entries set amount = amount + 1 where account_num = \(a) and account_version = 1",
                "delete from settle.chain_links where account_num = \(a)", "delete from settle.chain_heads where account_num = \(a)")
            try await f.ledger.advanceChain()
            var report = try await f.verify()
            #expect(report.passed, "without the key the rewrite is consistent")
            report = try await f.verify(key: key.publicKey)
            #expect(report.findings.first?.problem == "checkpoint_root" && report.findings.first?.checkpoint == checkpoint.id)
        }
    }

    @Test func chainTablesRefuseChanges() async throws {
        try await withFixture { f in
            let client = f.ledger.client
            for sql in [
                "update settle.chain_links set link = link where false", "delete from settle.chain_links where false",
                "truncate settle.chain_links", "update settle.chain_heads set through_version = 0",
                "delete from settle.chain_heads where false", "truncate settle.chain_heads",
                "insert into settle.chain_heads values (-1, 0, '\\x00')",
            ] {
                await #expect(throws: PSQLError.self, "\(sql)") { try await client.query(PostgresQuery(unsafeSQL: sql)) }
            }
            // Even the chainer cannot move a head back or away from its link.
            try await client.withTransaction(logger: TestDatabase.logger) { conn in
                try await conn.query("select set_config('settle.chaining', 'on', true)", logger: TestDatabase.logger)
                await #expect(throws: PSQLError.self) {
                    try await conn.query(
                        "update settle.chain_heads set through_version = through_version - 1 where through_version > 0",
                        logger: TestDatabase.logger)
                }
            }
        }
    }

    @Test func aDatabaseAtV20GetsV19() async throws {
        let url = try await TestDatabase.isolatedDatabase()
        defer { Task { try? await TestDatabase.dropIsolated(url) } }
        try await withLedger(url) { ledger in
            // As a database migrated before v19 existed is: v20 applied, v19 not.
            for sql in [
                "drop table settle.chain_checkpoint_heads", "drop table settle.chain_checkpoints", "drop table settle.chain_heads",
                "drop table settle.chain_links", "drop function settle.chain_heads_guard()",
                "delete from settle.schema_migrations where version = 19",
            ] {
                try await ledger.client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
            }
            #expect(try await !ledger.schemaIsCurrent())
            #expect(try await ledger.migrate() == [19])
            #expect(try await ledger.schemaIsCurrent())
        }
    }

    @Test func canonicalJSONSortsKeysByBytesAndKeepsNumbers() {
        let text = #"{"b": 1, "a": [1.50, "x\u00e9\n", {"z": null, "y": 1e400}], "e\u0301": 1, "é": 2}"#
        // Compared as bytes: Swift's String equality would call the two spellings of é equal.
        let expected = #"{"a":[1.50,"x\#u{e9}\n",{"y":1e400,"z":null}],"b":1,"e\#u{301}":1,"\#u{e9}":2}"#
        #expect(CanonicalJSON.canonical(text) == Array(expected.utf8))
        #expect(CanonicalJSON.canonical("{\"a\": }") == nil)
    }
}
