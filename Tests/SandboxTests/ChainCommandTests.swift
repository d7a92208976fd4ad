import Foundation
import Ledger
import PostgresNIO
import SettleTesting
import Testing

extension BinaryTests {
    /// `settle chain` and `settle verify --chain` as an operator runs them, on a database of their
    /// own: a key made, the books chained and signed, the proof passing; then an entry edited as a
    /// superuser and the proof failing with exit status 1, naming the entry.
    @Suite("settle chain", .timeLimit(.minutes(3)))
    struct ChainCommandTests {
        static let logger = TestDatabase.logger

        /// Runs `settle` to its end: its status and standard output.
        static func settle(_ arguments: [String], url: String) async throws -> (Int32, String) {
            let binary = try #require(SettleProcess.binary)
            let process = try SettleProcess(binary, arguments + ["--database-url", url])
            defer { process.stop() }
            let status = try await process.exitStatus()
            return (status, process.stdout + process.stderr)
        }

        @Test func advanceCheckpointAndVerifyThenCatchAnEdit() async throws {
            guard SettleProcess.binary != nil else {
                if InteropPython.isCI { Issue.record("the settle binary is missing: run scripts/test") }
                return
            }
            let url = try await TestDatabase.isolatedDatabase()
            defer { Task { try? await TestDatabase.dropIsolated(url) } }
            let text = url.commandLineText
            try await withLedger(url) { ledger in
                _ = try await ledger.createAssets([Asset(id: "usd", code: "USD", scale: 2)])
                _ = try await ledger.createAccounts([
                    Account(id: "world", asset: "usd", normalSide: .debit), Account(id: "a", asset: "usd", normalSide: .credit),
                ])
                _ = try await ledger.post(NewTransfer(id: "t1", .post([.debit("world", 10), .credit("a", 10)])))
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chain-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let key = directory.appendingPathComponent("checkpoint.key").path

            let keygen = try await offPool { try runChildProcess(SettleProcess.binary!, ["chain", "keygen", key]) }
            #expect(String(decoding: keygen, as: UTF8.self).hasPrefix("key "))
            var (status, output) = try await Self.settle(["chain", "advance"], url: text)
            #expect(status == 0 && output.contains("chained 4 links over 2 accounts"), "\(output)")
            (status, output) = try await Self.settle(["chain", "checkpoint", "--key", key], url: text)
            #expect(status == 0, "\(output)")
            let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("{") })
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let id = try #require(json["id"] as? Int)
            #expect(json["accounts"] as? Int == 2 && (json["signature"] as? String)?.count == 128)
            (status, output) = try await Self.settle(
                ["verify", "--chain", "--from-checkpoint", String(id), "--public-key", key + ".pub"], url: text)
            #expect(status == 0 && output.contains("verify --chain: the chain holds"), "\(output)")

            try await withLedger(url) { ledger in
                try await ledger.client.withConnection { conn in
                    try await conn.query("set session_replication_role = replica", logger: Self.logger)
                    try await conn.query(
                        "update settle.entries set amount = 11 where account_num = (select num from settle.accounts where id = 'a')",
                        logger: Self.logger)
                    try await conn.query("set session_replication_role = origin", logger: Self.logger)
                }
            }
            (status, output) = try await Self.settle(["verify", "--chain", "--public-key", key + ".pub"], url: text)
            #expect(status == 1, "\(output)")
            #expect(output.contains("first bad row: entry (a #"), "\(output)")
            #expect(output.contains("version 1) of transfer") && output.contains("(t1): stored link ≠ recomputed"), "\(output)")
        }
    }
}
