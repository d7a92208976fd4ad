import Foundation
import Ledger
import Logging
import RailKit
import SettleTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The out-of-process rail protocol, end to end: the Python bank-file rail
/// (`Plugins/BankFileRail`) under ``ProcessRail``, booking into a real ledger through
/// ``RailBooker``, with crashes, hangs and garbage injected into the child.
@Suite(
    "Out-of-process rails",
    .enabled(if: BankRailFiles.python != nil || ProcessInfo.processInfo.environment["CI"] != nil, "no Python 3 interpreter found")
)
struct ProcessRailTests {
    // MARK: Handshake

    @Test func handshakeGivesTheDescriptor() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        var registry = RailRegistry()
        registry.register(kind: ProcessRail.kind, ProcessRail.factory)
        let rails = try await registry.make([bank.configuration()], logger: TestDatabase.logger)
        let rail = try #require(rails.first as? ProcessRail)
        let d = rail.descriptor
        #expect(d.id == bank.id)
        #expect(d.kind == "process")
        #expect(d.assets.map(\.id) == [bank.asset])
        #expect(d.assets.first?.code == "USD" && d.assets.first?.scale == 2)
        #expect(d.capabilities == [.pull, .statements])
        #expect(d.fundFlow.transitions.map(\.name) == ["received", "allocated", "released", "sent"])
        #expect(d.fundFlow.accounts.filter(\.clearing).map(\.template) == ["bank:{asset}:unallocated"])
        try d.validate()

        // A capability the rail does not have is refused without asking it.
        await #expect(throws: RailError.self) { _ = try await rail.verifyWebhook(headers: [:], body: []) }

        let pid = try #require(await rail.processID)
        await rail.shutdown()
        #expect(!isRunning(pid), "the child still runs after shutdown")
        let error = await #expect(throws: RailError.self) { _ = try await rail.fetchNext(cursor: nil, pageSize: 10) }
        #expect(error?.code == .shutDown)
    }

    @Test func droppedRailKillsItsChild() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        var rail: ProcessRail? = try await ProcessRail.launch(bank.configuration(), logger: TestDatabase.logger)
        let pid = try #require(await rail?.processID)
        #expect(isRunning(pid))
        rail = nil
        #expect(!isRunning(pid), "a dropped rail's child still runs")
    }

    @Test func protocolVersionMismatchStopsTheChild() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        let pidFile = bank.scratch.appendingPathComponent("pid").path
        let error = await #expect(throws: RailError.self) {
            _ = try await ProcessRail.launch(
                bank.configuration(["answer_protocol": .number("2"), "pid_file": .string(pidFile)]), logger: TestDatabase.logger)
        }
        #expect(error?.code == .protocolVersion)
        #expect(error?.message.contains("protocol version 2") == true, "\(String(describing: error))")
        let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8)))
        #expect(!isRunning(pid), "the child of a refused handshake still runs")
    }

    @Test func childRefusingItsSettingsIsATypedError() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        let error = await #expect(throws: RailError.self) {
            _ = try await ProcessRail.launch(
                bank.configuration(["directory": .string("/nonexistent/statements")]), logger: TestDatabase.logger)
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("is not a directory") == true, "\(String(describing: error))")
    }

    @Test func settingsAreChecked() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        for bad: Metadata in [
            ["command": .array([])], ["command": .string("python3")], ["timeout_ms": .number("0")], ["environment": .array([])],
        ] {
            let error = await #expect(throws: RailError.self) {
                _ = try await ProcessRail.launch(bank.configuration(bad), logger: TestDatabase.logger)
            }
            #expect(error?.code == .invalidConfiguration, "\(bad)")
        }
        let missing = await #expect(throws: RailError.self) {
            _ = try await ProcessRail.launch(
                bank.configuration(["command": .array([.string("/nonexistent/rail")])]), logger: TestDatabase.logger)
        }
        #expect(missing?.code == .crashed)
        #expect(missing?.message.contains("cannot start /nonexistent/rail") == true, "\(String(describing: missing))")
    }

    // MARK: Booking

    @Test func syncBooksEveryLineExactlyOnce() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        let day1 = BankFixture.rows(prefix: "a", count: 7, day: 1)
        let day2 = BankFixture.rows(prefix: "b", count: 6, day: 2)
        try bank.write("2026-11-01.csv", day1)
        try bank.write("2026-11-02.csv", day2)
        let (rail, booker) = try await bank.start()
        defer { Task { await rail.shutdown() } }

        let first = try await booker.sync(rail, pageSize: 4)
        #expect(first.created == 2 * (day1.count + day2.count))
        #expect(first.exists == 0 && first.rejected.isEmpty && first.outOfOrder == nil)
        #expect(first.pages >= 7, "pages of at most 4 events: \(first)")
        #expect(first.cursor == "2026-11-02.csv:\(day2.count + 1)")
        try await bank.expectBooks(day1 + day2, booker.ledger)

        let second = try await booker.sync(rail, pageSize: 4)
        #expect(second.events == 0 && second.created == 0, "\(second)")
        try await bank.expectBooks(day1 + day2, booker.ledger)
        try await expectVerified(booker.ledger)
    }

    @Test func appendedLinesAndNewFilesArePickedUp() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        let initial = BankFixture.rows(prefix: "a", count: 3, day: 1)
        try bank.write("2026-11-01.csv", initial)
        let (rail, booker) = try await bank.start()
        defer { Task { await rail.shutdown() } }
        #expect(try await booker.sync(rail, pageSize: 100).created == 6)

        // A line still being written (no newline yet) waits; complete lines and a later file are taken.
        let appended = BankFixture.rows(prefix: "c", count: 2, day: 1)
        let partial = BankFixture.rows(prefix: "p", count: 1, day: 1)
        try bank.append("2026-11-01.csv", BankFixture.csv(appended))
        try bank.append("2026-11-01.csv", String(BankFixture.csv(partial).dropLast()))
        var report = try await booker.sync(rail, pageSize: 100)
        #expect(report.created == 4 && report.exists == 0, "\(report)")
        try await bank.expectBooks(initial + appended, booker.ledger)

        try bank.append("2026-11-01.csv", "\n")
        let later = BankFixture.rows(prefix: "d", count: 3, day: 2)
        try bank.write("2026-11-02.csv", later)
        report = try await booker.sync(rail, pageSize: 100)
        #expect(report.created == 2 * (partial.count + later.count) && report.exists == 0, "\(report)")
        try await bank.expectBooks(initial + appended + partial + later, booker.ledger)
        try await expectVerified(booker.ledger)
    }

    @Test func malformedLineStopsTheRailUntilFixed() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        let rows = BankFixture.rows(prefix: "m", count: 4, day: 1)
        let broken =
            BankFixture.csv(Array(rows[0..<2])) + "m-bad,2026-11-01T12:00:00Z,12x,USD,credit,Someone,REF\n"
            + BankFixture.csv(Array(rows[3...]))
        try bank.write("2026-11-01.csv", header: true, text: broken)
        let (rail, booker) = try await bank.start()
        defer { Task { await rail.shutdown() } }

        let error = await #expect(throws: RailError.self) { _ = try await booker.sync(rail, pageSize: 100) }
        #expect(error?.code == "invalid_event")
        #expect(error?.message.contains("line 4") == true, "\(String(describing: error))")
        // The lines before it are booked, and the cursor waits on it.
        try await bank.expectBooks(Array(rows[0..<2]), booker.ledger)
        #expect(try await booker.cursor(of: bank.id) == "2026-11-01.csv:3")

        // The bank re-issues the file with the line corrected: the rail goes on from there.
        try bank.write("2026-11-01.csv", rows)
        let report = try await booker.sync(rail, pageSize: 100)
        #expect(report.created == 4 && report.exists == 0, "\(report)")
        try await bank.expectBooks(rows, booker.ledger)
        try await expectVerified(booker.ledger)
    }

    @Test func statementReturnsTheRowsOfTheWindow() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        let rows = (1...3).flatMap { BankFixture.rows(prefix: "s\($0)", count: 3, day: $0) }
        try bank.write("2026-11-01.csv", Array(rows[0..<5]))
        try bank.write("2026-11-02.csv", Array(rows[5...]))
        let (rail, _) = try await bank.start()
        defer { Task { await rail.shutdown() } }

        let from = BankFixture.date(day: 2)
        let to = BankFixture.date(day: 3)
        var records: [StatementRecord] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await rail.statement(from: from, to: to, cursor: cursor, pageSize: 2)
            #expect(page.records.count <= 2)
            records += page.records
            cursor = page.nextCursor
            pages += 1
            if !page.hasMore { break }
        } while pages < 20
        let expected = rows.filter { $0.bookedAt >= from && $0.bookedAt < to }
        #expect(expected.count == 3)
        #expect(records.map(\.reference) == expected.map(\.id))
        #expect(records.map(\.amount) == expected.map { UInt256(UInt64($0.amount)) })
        #expect(records.map(\.direction) == expected.map { $0.credit ? .inbound : .outbound })
        #expect(records.map(\.occurredAt) == expected.map(\.bookedAt))
        let unexpected = records.filter { $0.asset != bank.asset || $0.fee != 0 }
        #expect(unexpected.isEmpty, "\(unexpected)")
        #expect(pages == 2)
    }

    // MARK: Faults

    /// The child dies half-way through writing a page: the call fails, the pages before are kept,
    /// and after a restart every event is booked exactly once, also when Settle itself crashed
    /// between booking a page and storing its cursor.
    @Test func crashMidPageLosesAndDuplicatesNothing() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        let rows = BankFixture.rows(prefix: "a", count: 6, day: 1) + BankFixture.rows(prefix: "b", count: 5, day: 2)
        try bank.write("2026-11-01.csv", Array(rows[0..<6]))
        try bank.write("2026-11-02.csv", Array(rows[6...]))
        let (rail, booker) = try await bank.start(["crash_after_events": .number("5")])
        defer { Task { await rail.shutdown() } }
        let firstChild = try #require(await rail.processID)

        let error = await #expect(throws: RailError.self) { _ = try await booker.sync(rail, pageSize: 4) }
        #expect(error?.code == .crashed, "\(String(describing: error))")
        #expect(!isRunning(firstChild))
        // The first page (two lines, four events) is booked and its cursor stored; the broken page is not.
        #expect(try await booker.cursor(of: bank.id) == "2026-11-01.csv:3")
        try await bank.expectBooks(Array(rows[0..<2]), booker.ledger)

        // Settle crashes after booking the next page, before storing its cursor.
        let stored = try await booker.cursor(of: bank.id)
        let page = try await rail.fetchNext(cursor: stored, pageSize: 4)
        #expect(await rail.recentRestarts == 1)
        #expect(page.events.count == 4)
        let outcomes = try await booker.book(page.events, on: rail.descriptor)
        #expect(outcomes == Array(repeating: .created, count: 4))

        let report = try await booker.sync(rail, pageSize: 4)
        #expect(report.exists == 4, "the re-fetched page is recognised: \(report)")
        #expect(report.created == 2 * rows.count - 8, "\(report)")
        #expect(report.rejected.isEmpty)
        try await bank.expectBooks(rows, booker.ledger)
        #expect(try await booker.sync(rail, pageSize: 4).events == 0)
        try await expectVerified(booker.ledger)
    }

    @Test func hangTimesOutThenRecovers() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        let rows = BankFixture.rows(prefix: "h", count: 6, day: 1)
        try bank.write("2026-11-01.csv", rows)
        let (rail, booker) = try await bank.start([
            "hang_on_call": .number("2"), "timeout_ms": .number("1500"), "kill_grace_ms": .number("300"),
        ])
        defer { Task { await rail.shutdown() } }
        let hung = try #require(await rail.processID)

        let started = ContinuousClock.now
        let error = await #expect(throws: RailError.self) { _ = try await booker.sync(rail, pageSize: 4) }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == .timeout, "\(String(describing: error))")
        // It waited for its timeout (an upper bound would only measure the machine's load).
        #expect(elapsed >= .milliseconds(1_400), "\(elapsed)")
        #expect(!isRunning(hung), "the hung child was not killed")
        try await bank.expectBooks(Array(rows[0..<2]), booker.ledger)

        let report = try await booker.sync(rail, pageSize: 4)
        #expect(report.created == 2 * (rows.count - 2) && report.exists == 0, "\(report)")
        try await bank.expectBooks(rows, booker.ledger)
        try await expectVerified(booker.ledger)
    }

    @Test(arguments: [
        ("garbage_on_call", RailError.Code.protocolViolation),
        ("wrong_id_on_call", RailError.Code.protocolViolation),
        ("exit_on_call", RailError.Code.crashed),
    ])
    func brokenAnswerIsIsolatedThenRecovered(fault: String, code: RailError.Code) async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        let rows = BankFixture.rows(prefix: "g", count: 5, day: 1)
        try bank.write("2026-11-01.csv", rows)
        let (rail, booker) = try await bank.start([fault: .number("1")])
        defer { Task { await rail.shutdown() } }
        let broken = try #require(await rail.processID)

        let error = await #expect(throws: RailError.self) { _ = try await booker.sync(rail, pageSize: 100) }
        #expect(error?.code == code, "\(String(describing: error))")
        #expect(!isRunning(broken), "the broken child was not stopped")
        try await bank.expectBooks([], booker.ledger)

        let report = try await booker.sync(rail, pageSize: 100)
        #expect(report.created == 2 * rows.count, "\(report)")
        #expect(await rail.recentRestarts == 1)
        try await bank.expectBooks(rows, booker.ledger)
        try await expectVerified(booker.ledger)
    }

    @Test func overlongLineIsAProtocolViolation() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        // The descriptor alone is longer than 1 KiB.
        let error = await #expect(throws: RailError.self) {
            _ = try await ProcessRail.launch(bank.configuration(["max_line_bytes": .number("1024")]), logger: TestDatabase.logger)
        }
        #expect(error?.code == .protocolViolation)
        #expect(error?.message.contains("longer than 1024 bytes") == true, "\(String(describing: error))")
    }

    /// Calls from several tasks at once are serialized: the protocol has one request in flight.
    @Test func concurrentCallsTakeTurns() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        let rows = BankFixture.rows(prefix: "c", count: 5, day: 1)
        try bank.write("2026-11-01.csv", rows)
        let rail = try await ProcessRail.launch(bank.configuration(), logger: TestDatabase.logger)
        defer { Task { await rail.shutdown() } }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for k in 0..<12 {
                group.addTask {
                    if k % 2 == 0 { return try await rail.fetchNext(cursor: nil, pageSize: 100).events.count }
                    return try await rail.statement(from: .distantPast, to: .distantFuture, cursor: nil, pageSize: 100).records.count
                }
            }
            var counts: [Int] = []
            for try await count in group { counts.append(count) }
            #expect(counts.sorted() == Array(repeating: rows.count, count: 6) + Array(repeating: 2 * rows.count, count: 6))
        }
        #expect(await rail.recentRestarts == 0)
    }

    @Test func restartsAreBounded() async throws {
        let bank = try BankFixture()
        defer { bank.remove() }
        try bank.write("2026-11-01.csv", BankFixture.rows(prefix: "r", count: 1, day: 1))
        // No fault marker: every child exits on its first request.
        let rail = try await ProcessRail.launch(
            bank.configuration([
                "exit_on_call": .number("1"), "fault_marker": .null, "max_restarts_per_minute": .number("2"),
                "restart_backoff_ms": .number("50"),
            ]),
            logger: TestDatabase.logger)
        defer { Task { await rail.shutdown() } }
        for _ in 0..<3 {
            let error = await #expect(throws: RailError.self) { _ = try await rail.fetchNext(cursor: nil, pageSize: 10) }
            #expect(error?.code == .crashed)
        }
        #expect(await rail.recentRestarts == 2)
        let error = await #expect(throws: RailError.self) { _ = try await rail.fetchNext(cursor: nil, pageSize: 10) }
        #expect(error?.code == .crashed)
        #expect(error?.message.contains("restarted 2 times in the last minute") == true, "\(String(describing: error))")
        #expect(await rail.processID == nil, "no child is started past the limit")
    }

    // MARK: The Python rail's own tests

    @Test func pythonUnitTests() async throws {
        let python = try #require(BankRailFiles.python, "no Python 3 interpreter")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("bank-rail-unittest-\(UUID().uuidString).log")
        #expect(FileManager.default.createFile(atPath: log.path, contents: nil))
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-m", "unittest", "discover", "-s", BankRailFiles.pluginDirectory.path, "-p", "test_*.py"]
        process.currentDirectoryURL = BankRailFiles.pluginDirectory
        // No __pycache__ left in the source tree.
        process.environment = ProcessInfo.processInfo.environment.merging(["PYTHONDONTWRITEBYTECODE": "1"]) { _, new in new }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try await offPool { process.waitUntilExit() }
        try handle.close()
        let output = try String(contentsOf: log, encoding: .utf8)
        #expect(process.terminationStatus == 0, "python -m unittest failed:\n\(output)")
        #expect(output.contains("OK"), "\(output)")
    }

}

/// Where the Python rail and an interpreter for it are.
enum BankRailFiles {
    static let repositoryRoot = InteropPython.repositoryRoot
    static let pluginDirectory = repositoryRoot.appendingPathComponent("Plugins/BankFileRail")

    /// `$VIRTUAL_ENV/bin/python`, else the repository's `.venv`, else `python3` on `PATH`.
    static let python: String? = {
        if let interpreter = InteropPython.interpreter { return interpreter }
        // The rail needs only the standard library: any python3 on PATH will do.
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()
}

/// True while process `pid` exists (a reaped child does not).
private func isRunning(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno != ESRCH
}

private func expectVerified(_ ledger: PostgresLedger, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let report = try await ledger.verify()
    #expect(report.passed, "\(report.checks.filter { !$0.passed })", sourceLocation: sourceLocation)
}

/// A statement directory and a bank rail configured on it, under ids of its own.
struct BankFixture {
    struct Row {
        var id: String
        var bookedAt: Date
        var amount: Int
        var credit: Bool
    }

    let id: String
    let asset: AssetID
    let merchant: AccountID
    let directory: URL
    /// For the fault marker and other files outside the statement directory.
    let scratch: URL

    init() throws {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        id = "bank-\(tag)"
        asset = try AssetID("usd-bank-\(tag)")
        merchant = try AccountID("merchant:\(tag)")
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("settle-\(id)")
        directory = scratch.appendingPathComponent("statements")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Removes the statement directory and the fault marker.
    func remove() {
        try? FileManager.default.removeItem(at: scratch)
    }

    func configuration(_ extra: Metadata = [:]) -> RailConfiguration {
        var settings: Metadata = [
            "command": .array([
                .string(BankRailFiles.python ?? "python3"),
                .string(BankRailFiles.pluginDirectory.appendingPathComponent("bank_file_rail.py").path),
            ]),
            "directory": .string(directory.path),
            "asset": .string(asset.rawValue),
            "currency": .string("USD"),
            "scale": .number("2"),
            "merchant_account": .string(merchant.rawValue),
            "fault_marker": .string(scratch.appendingPathComponent("fault-fired").path),
            "timeout_ms": .number("10000"),
            "kill_grace_ms": .number("1000"),
            "restart_backoff_ms": .number("20"),
        ]
        settings.merge(extra) { _, new in new }
        if settings["fault_marker"] == .null { settings["fault_marker"] = nil }
        return RailConfiguration(id: id, kind: ProcessRail.kind, settings: settings)
    }

    /// Launches the rail and installs it in the test ledger.
    func start(_ extra: Metadata = [:]) async throws -> (ProcessRail, RailBooker) {
        let rail = try await ProcessRail.launch(configuration(extra), logger: TestDatabase.logger)
        let booker = RailBooker(ledger: try await TestDatabase.ledger())
        try await booker.install(rail.descriptor)
        return (rail, booker)
    }

    static func date(day: Int, minute: Int = 0) -> Date {
        // 2026-11-01T00:00:00Z + (day - 1) days.
        Date(timeIntervalSince1970: 1_793_491_200 + Double((day - 1) * 86_400 + minute * 60))
    }

    /// `count` rows on day `day` of November 2026, alternating credits (odd) and debits; amounts
    /// vary so that sums catch a missing or doubled line.
    static func rows(prefix: String, count: Int, day: Int) -> [Row] {
        (0..<count).map { k in
            Row(
                id: "\(prefix)-\(day)-\(k)", bookedAt: date(day: day, minute: 60 + 7 * k), amount: 1_000 * (k + 1) + 17 * day,
                credit: k % 3 != 1)
        }
    }

    static func csv(_ rows: [Row]) -> String {
        rows.map { row in
            let when = RailProtocol.formatDate(row.bookedAt)
            return "\(row.id),\(when),\(row.amount),USD,\(row.credit ? "credit" : "debit"),\"Payer, \(row.id)\",REF-\(row.id)\n"
        }.joined()
    }

    func write(_ name: String, _ rows: [Row]) throws {
        try write(name, header: true, text: Self.csv(rows))
    }

    func write(_ name: String, header: Bool, text: String) throws {
        let content = (header ? "id,booked_at,amount,currency,direction,counterparty,reference\n" : "") + text
        try content.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func append(_ name: String, _ text: String) throws {
        let handle = try FileHandle(forWritingTo: directory.appendingPathComponent(name))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// The ledger holds exactly `rows`, each once: the bank account and the merchant moved by their
    /// sums, one entry per line, and the clearing account is back to zero with two entries per line.
    func expectBooks(_ rows: [Row], _ ledger: PostgresLedger, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let credits = UInt256(UInt64(rows.filter(\.credit).map(\.amount).reduce(0, +)))
        let debits = UInt256(UInt64(rows.filter { !$0.credit }.map(\.amount).reduce(0, +)))
        let cash = try await ledger.balance(of: AccountID("bank:\(asset.rawValue):cash"))
        let clearing = try await ledger.balance(of: AccountID("bank:\(asset.rawValue):unallocated"))
        #expect(cash.debitsPosted == credits && cash.creditsPosted == debits, "cash \(cash)", sourceLocation: sourceLocation)
        #expect(cash.version == Int64(rows.count), "cash entries", sourceLocation: sourceLocation)
        if !rows.isEmpty {  // the merchant's account is created with its first line
            let merchantBalance = try await ledger.balance(of: merchant)
            #expect(
                merchantBalance.creditsPosted == credits && merchantBalance.debitsPosted == debits, "merchant \(merchantBalance)",
                sourceLocation: sourceLocation)
            #expect(merchantBalance.version == Int64(rows.count), "merchant entries", sourceLocation: sourceLocation)
        }
        #expect(
            clearing.debitsPosted == credits.adding(debits) && clearing.creditsPosted == credits.adding(debits), "clearing \(clearing)",
            sourceLocation: sourceLocation)
        #expect(clearing.version == Int64(2 * rows.count), "clearing entries", sourceLocation: sourceLocation)
        #expect(cash.debitsPending == 0 && cash.creditsPending == 0, sourceLocation: sourceLocation)
    }
}
