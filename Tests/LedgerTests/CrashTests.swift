import Foundation
import Ledger
import LocalPostgres
import PostgresNIO
import SettleTesting
import Testing

/// Kills the writer in the middle of a large atomic batch: afterwards the batch is either all
/// there or not there at all, and the books verify.
@Suite("Crash in the middle of a batch", .serialized)
struct CrashTests {
    /// The `settle` executable built beside the test bundle.
    static var settleExecutable: URL? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("settle")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    private func writeBatch(_ b: Books, count: Int) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(b.prefix)-batch.jsonl")
        var text = ""
        for k in 0..<count {
            text +=
                #"{"id":"\#(b.prefix):c\#(k)","postings":[{"direction":"debit","account":"\#(b.prefix):@world","amount":"\#(k + 1)"},{"direction":"credit","account":"\#(b.prefix):a","amount":"\#(k + 1)"}]}"#
                + "\n"
        }
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    private func committedCount(_ b: Books) async throws -> Int {
        let rows = try await b.ledger.client.query("select count(*) from settle.transfers where id like \(b.prefix + ":c%")")
        for try await n in rows.decode(Int64.self) { return Int(n) }
        return 0
    }

    @Test(arguments: [150, 400, 900, 2_000])
    func killTheClientProcess(afterMilliseconds delay: Int) async throws {
        let settle = try #require(Self.settleExecutable, "build the settle product first (swift build)")
        let b = try await Books.make()
        try await b.accounts("@world", "a")
        let file = try writeBatch(b, count: 8_000)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = settle
        process.arguments = [
            "transfers", "post", "--file", file.path, "--atomic", "--database-url", try await TestDatabase.databaseURL().urlString,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(for: .milliseconds(delay))
        kill(process.processIdentifier, SIGKILL)
        try await offPool { process.waitUntilExit() }
        // The server may still be finishing the batch the client sent: wait until it is done.
        try await waitForNoActiveBatch(b)
        let n = try await committedCount(b)
        #expect(n == 0 || n == 8_000, "a partial batch was committed: \(n)")
        let balance = try await b.balance("a")
        #expect(balance.creditsPosted == (n == 0 ? 0 : UInt256(UInt64(8_000 * 8_001 / 2))))
        #expect(try await b.ledger.verify().passed)
    }

    @Test func killTheServerBackend() async throws {
        // Its own database: terminating backends must not touch other tests' batches.
        let url = try await TestDatabase.isolatedDatabase()
        defer { Task { try? await TestDatabase.dropIsolated(url) } }
        try await withLedger(url) { ledger in
            try await ledger.setUpCrashBooks()
            let batch = crashBatch()
            let blocker = try await RowBlocker.hold(account: "world", on: ledger.client)
            let writer = Task { try await ledger.post(batch, atomic: true) }
            // The batch has written its phase-A rows and waits for world's row: kill it there.
            var killed = false
            for _ in 0..<6_000 where !killed {
                let rows = try await ledger.client.query(
                    """
                    select pg_terminate_backend(pid) from pg_stat_activity
                     where datname = current_database() and query like '%settle.post_transfers(%'
                       and wait_event_type = 'Lock' and pid <> pg_backend_pid()
                    """)
                for try await ok in rows.decode(Bool.self) where ok { killed = true }
                if !killed { try await Task.sleep(for: .milliseconds(5)) }
            }
            try await blocker.release()
            #expect(killed)
            // The ledger retries the batch on a new connection: it is written once, in full.
            let results = try await writer.value
            let refused = results.filter { !$0.isCreated && !$0.isExists }
            #expect(refused.isEmpty, "\(refused)")
            let report = try await ledger.verify()
            #expect(report.transfers == 8_000 && report.passed)
        }
    }

    private func waitForNoActiveBatch(_ b: Books) async throws {
        for _ in 0..<600 {
            let rows = try await b.ledger.client.query(
                "select count(*) from pg_stat_activity where query like '%settle.post_transfers(%' and state = 'active' and pid <> pg_backend_pid()"
            )
            var active = 0
            for try await n in rows.decode(Int64.self) { active = Int(n) }
            if active == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

extension DatabaseURL {
    var urlString: String {
        "postgres://\(username):\(password?.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")@\(host):\(port)/\(database)"
    }
}

/// The database server itself crashes (immediate shutdown, as on power loss) in the middle of a
/// large atomic batch; after the restart and crash recovery the batch is all there or not at all.
@Suite("Server crash and restart")
struct ServerCrashTests {
    @Test func crashTheServerMidBatchThenRestart() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("settle-crash-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        let port = try freePort()
        let local = LocalPostgres(
            configuration: .init(dataDirectory: home.appendingPathComponent("postgres").path, port: port), logger: TestDatabase.logger)
        defer { Task { try? await local.stop() } }
        let url = try DatabaseURL(try await local.start())

        // Set up; hold world's row so that the batch stops in phase B with its phase-A writes
        // done but not committed; crash the server there.
        let crashed = try await url.withClient(connections: 2, logger: TestDatabase.logger) { blockerClient in
            try await PostgresLedger(client: blockerClient, logger: TestDatabase.logger).migrate()
            try await PostgresLedger(client: blockerClient, logger: TestDatabase.logger).setUpCrashBooks()
            _ = try await RowBlocker.hold(account: "world", on: blockerClient)
            let writer = Task { try await withLedger(url) { try await $0.post(crashBatch(), atomic: true) } }
            defer { writer.cancel() }  // its client would otherwise keep retrying a server that is gone
            for _ in 0..<6_000 {
                let rows = try await blockerClient.query(
                    "select count(*) from pg_stat_activity where query like '%settle.post_transfers(%' and wait_event_type = 'Lock'")
                var waiting = false
                for try await n in rows.decode(Int64.self) { waiting = n > 0 }
                if waiting {
                    let pid = try #require(try await local.status().pid)
                    kill(pid_t(pid), SIGQUIT)  // immediate shutdown: no checkpoint, recovery on next start
                    return true
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            return false
        }
        #expect(crashed, "the batch never reached phase B")
        // Wait for the postmaster to be gone, then restart: PostgreSQL replays its WAL.
        for _ in 0..<200 where try await local.status().running { try await Task.sleep(for: .milliseconds(50)) }
        let restarted = try DatabaseURL(try await local.start())
        try await withLedger(restarted) { ledger in
            // The crash came before the commit: none of the batch may survive recovery.
            let report = try await ledger.verify()
            #expect(report.transfers == 0, "part of an uncommitted batch survived: \(report.transfers)")
            #expect(report.passed, "\(report.checks.filter { !$0.passed })")
        }
    }
}

/// 8,000 transfers from `world` (no limit: phase B) to `a` (a limit: phase A).
func crashBatch() -> [NewTransfer] {
    (0..<8_000).map { k in NewTransfer(id: "c\(k)", .post([.debit("world", 1), .credit("a", 1)])) }
}

extension PostgresLedger {
    func setUpCrashBooks() async throws {
        _ = try await createAssets([Asset(id: "usd", code: "USD", scale: 2)])
        _ = try await createAccounts([
            Account(id: "world", asset: "usd", normalSide: .debit),
            Account(id: "a", asset: "usd", normalSide: .credit, limit: .debitsMustNotExceedCredits),
        ])
    }
}

/// Holds one account's balance row locked in an open transaction until released.
struct RowBlocker {
    let release: @Sendable () async throws -> Void

    static func hold(account: String, on client: PostgresClient) async throws -> RowBlocker {
        let (locked, lockedContinuation) = AsyncStream<Void>.makeStream()
        let (released, releaseContinuation) = AsyncStream<Void>.makeStream()
        let task = Task {
            try await client.withTransaction(logger: TestDatabase.logger) { conn in
                try await conn.query(
                    "select 1 from settle.balances b join settle.accounts a on a.num = b.account_num where a.id = \(account) for update of b",
                    logger: TestDatabase.logger)
                lockedContinuation.yield()
                for await _ in released { break }
            }
        }
        for await _ in locked { break }
        return RowBlocker {
            releaseContinuation.finish()
            _ = try? await task.value
        }
    }
}
