import Foundation
import LocalPostgres
import Ledger
import PostgresNIO
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
            text += #"{"id":"\#(b.prefix):c\#(k)","postings":[{"direction":"debit","account":"\#(b.prefix):@world","amount":"\#(k + 1)"},{"direction":"credit","account":"\#(b.prefix):a","amount":"\#(k + 1)"}]}"# + "\n"
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
        process.arguments = ["transfers", "post", "--file", file.path, "--atomic", "--database-url", try await TestDatabase.databaseURL().urlString]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(for: .milliseconds(delay))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
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
            _ = try await ledger.createAssets([Asset(id: "usd", code: "USD", scale: 2)])
            _ = try await ledger.createAccounts([Account(id: "world", asset: "usd", normalSide: .debit), Account(id: "a", asset: "usd", normalSide: .credit)])
            let batch = (0..<8_000).map { k in NewTransfer(id: "c\(k)", .post([.debit("world", 1), .credit("a", 1)])) }
            let writer = Task { try await ledger.post(batch, atomic: true) }
            var killed = false
            for _ in 0..<400 where !killed {
                let rows = try await ledger.client.query(
                    """
                    select pg_terminate_backend(pid) from pg_stat_activity
                     where datname = current_database() and query like '%settle.post_transfers(%'
                       and state = 'active' and pid <> pg_backend_pid()
                    """)
                for try await ok in rows.decode(Bool.self) where ok { killed = true }
                if !killed { try await Task.sleep(for: .milliseconds(2)) }
            }
            let outcome = await writer.result
            // The count goes through the ledger, which retries the pool's dead connection.
            let n = try await ledger.verify().transfers
            if case .success(let results) = outcome {
                // The retry after the killed connection wrote it once, or the kill came too late.
                #expect(n == 8_000 && results.allSatisfy { $0.isCreated || $0.isExists })
            } else {
                #expect(n == 0)
            }
            #expect(killed, "the batch finished before it could be killed")
            #expect(try await ledger.verify().passed)
        }
    }

    private func waitForNoActiveBatch(_ b: Books) async throws {
        for _ in 0..<600 {
            let rows = try await b.ledger.client.query("select count(*) from pg_stat_activity where query like '%settle.post_transfers(%' and state = 'active' and pid <> pg_backend_pid()")
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
        let port = Int.random(in: 20_000...60_000)
        let local = LocalPostgres(
            configuration: .init(dataDirectory: home.appendingPathComponent("postgres").path, port: port), logger: TestDatabase.logger)
        defer { Task { try? await local.stop() } }
        let url = try DatabaseURL(try await local.start())

        // Set up, then crash while the batch runs.
        let writer = Task {
            try await withLedger(url) { ledger in
                _ = try await ledger.createAssets([Asset(id: "usd", code: "USD", scale: 2)])
                _ = try await ledger.createAccounts([
                    Account(id: "world", asset: "usd", normalSide: .debit), Account(id: "a", asset: "usd", normalSide: .credit),
                ])
                let batch = (0..<8_000).map { k in NewTransfer(id: "c\(k)", .post([.debit("world", 1), .credit("a", 1)])) }
                return try await ledger.post(batch, atomic: true)
            }
        }
        var crashed = false
        for _ in 0..<2_000 where !crashed {
            if try await Self.batchIsRunning(url) {
                let pid = try #require(try await local.status().pid)
                kill(pid_t(pid), SIGQUIT)  // immediate shutdown: no checkpoint, recovery on next start
                crashed = true
                writer.cancel()  // its client would otherwise keep retrying a server that is gone
            } else {
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        _ = await writer.result
        #expect(crashed, "the batch finished before the server could be crashed")
        // Wait for the postmaster to be gone, then restart: PostgreSQL replays its WAL.
        for _ in 0..<200 where try await local.status().running { try await Task.sleep(for: .milliseconds(50)) }
        let restarted = try DatabaseURL(try await local.start())
        try await withLedger(restarted) { ledger in
            let report = try await ledger.verify()
            #expect(report.transfers == 0 || report.transfers == 8_000, "a partial batch survived: \(report.transfers)")
            #expect(report.passed, "\(report.checks.filter { !$0.passed })")
        }
    }

    /// Whether a backend is executing `settle.post_transfers` right now.
    private static func batchIsRunning(_ url: DatabaseURL) async throws -> Bool {
        let client = PostgresClient(configuration: try url.clientConfiguration(connections: 1), backgroundLogger: TestDatabase.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            do {
                let rows = try await client.query(
                    "select count(*) from pg_stat_activity where query like '%settle.post_transfers(%' and state = 'active' and pid <> pg_backend_pid()")
                for try await n in rows.decode(Int64.self) { return n > 0 }
            } catch {
                return false  // the database is not up yet
            }
            return false
        }
    }
}
