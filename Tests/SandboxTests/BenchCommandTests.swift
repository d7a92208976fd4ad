import Foundation
import Ledger
import PostgresNIO
import SettleTesting
import Testing

extension BinaryTests {
    /// `settle bench ledger --schema-through`: an older schema measured by the current binary, on a
    /// database of its own, and never on one already past it.
    @Suite("settle bench ledger on an older schema", .timeLimit(.minutes(3)))
    struct BenchCommandTests {
        @Test func anOlderSchemaIsMeasuredOnADatabaseOfItsOwnOnly() async throws {
            guard let binary = SettleProcess.binary else {
                if InteropPython.isCI { Issue.record("the settle binary is missing: run scripts/test") }
                return
            }
            try await TestDatabase.withIsolatedDatabase { url in
                let text = url.commandLineText
                let small = ["--transfers", "400", "--batch-size", "100", "--concurrency", "2", "--accounts", "20", "--singles", "5"]
                let output = try await offPool {
                    try runChildProcess(binary, ["bench", "ledger", "--database-url", text, "--schema-through", "24", "--json"] + small)
                }
                let figures = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
                #expect((figures["batched_tps"] as? Double ?? 0) > 0)
                let versions = try await url.withClient(connections: 1, logger: TestDatabase.logger) { client in
                    var versions: [Int] = []
                    for try await version in try await client.query(
                        "select version from settle.schema_migrations order by version", logger: TestDatabase.logger
                    ).decode(Int.self) {
                        versions.append(version)
                    }
                    return versions
                }
                #expect(versions.last == 24, "\(versions)")

                await #expect(throws: ChildProcessFailure.self) {
                    try await offPool {
                        try runChildProcess(binary, ["bench", "ledger", "--database-url", text, "--schema-through", "20"] + small)
                    }
                }
                await #expect(throws: ChildProcessFailure.self) {
                    try await offPool { try runChildProcess(binary, ["bench", "ledger", "--schema-through", "0"] + small) }
                }
            }
        }
    }
}
