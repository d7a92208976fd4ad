import ArgumentParser
import Foundation
import Ledger
import LocalPostgres

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply the schema migrations that are missing.")
    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        let applied = try await db.withLedger(connections: 1, migrate: true) { _ in [Int]() }
        _ = applied
        print("schema is current")
    }
}

struct DBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Manage the embedded PostgreSQL cluster.",
        subcommands: [Start.self, Stop.self, Status.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start (or reuse) the embedded cluster and print its DATABASE_URL.")
        func run() async throws {
            let url = try await LocalPostgres().start()
            print("DATABASE_URL=\(url)")
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the embedded cluster.")
        func run() async throws {
            try await LocalPostgres().stop()
            print("stopped")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether the embedded cluster runs, and its DATABASE_URL.")
        func run() async throws {
            let s = try await LocalPostgres().status()
            print("data directory: \(s.dataDirectory)")
            print("initialized: \(s.initialized)")
            print("running: \(s.running)" + (s.pid.map { " (pid \($0))" } ?? ""))
            if let url = s.url { print("DATABASE_URL=\(url)") }
        }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check every invariant of the books; exit 1 with a report if one fails.",
        discussion: """
            With --chain, prove the hash chain instead (decision 0031): every stored link recomputed from \
            the rows, from genesis or from --from-checkpoint, and each checkpoint's signature and root \
            checked with --public-key. Exit 1 naming the first row that does not match, in transfer order.
            """)
    @OptionGroup var db: DatabaseOptions
    @Flag(help: "Print the report as JSON.") var json = false
    @Flag(help: "Prove the hash chain instead of the invariants.") var chain = false
    @Option(help: "With --chain: start from this checkpoint's signed heads (needs --public-key).") var fromCheckpoint: Int64?
    @Option(help: "With --chain: the checkpoints' public key file (64 hex digits).") var publicKey: String?
    @Option(help: "How many findings to print.") var examples = 20

    func validate() throws {
        if !chain, fromCheckpoint != nil || publicKey != nil { throw ValidationError("--from-checkpoint and --public-key go with --chain") }
        if fromCheckpoint != nil, publicKey == nil { throw ValidationError("--from-checkpoint needs --public-key") }
    }

    func run() async throws {
        if chain { return try await runChain() }
        let report = try await db.withLedger(connections: 1) { try await $0.verify() }
        if json {
            print(try JSONCoding.line(report))
        } else {
            print(VerifyCommand.render(report))
        }
        if !report.passed { throw ExitCode(1) }
    }

    private func runChain() async throws {
        let key = try publicKey.map(ChainKeySource.publicKey(file:))
        let (from, examples) = (fromCheckpoint, examples)
        let report = try await db.withLedger(connections: 1) {
            try await $0.verifyChain(fromCheckpoint: from, publicKey: key, examples: examples)
        }
        if json {
            print(try JSONCoding.line(report))
        } else {
            print(Self.render(report, keyGiven: key != nil))
        }
        if !report.passed { throw ExitCode(1) }
    }

    static func render(_ report: ChainVerification, keyGiven: Bool) -> String {
        var out = "verify --chain: " + (report.fromCheckpoint.map { "from checkpoint \($0)" } ?? "from genesis")
        out +=
            ", \(report.accounts) accounts, \(report.links) links recomputed, transfers chained through seq \(report.coveredThroughSeq)\n"
        if keyGiven {
            out += "  checkpoints checked: \(report.checkpointsChecked.map(String.init).joined(separator: ", "))"
            if !report.checkpointsSkipped.isEmpty {
                out += "; signed by another key, not checked: \(report.checkpointsSkipped.map(String.init).joined(separator: ", "))"
            }
            out += "\n"
        } else {
            out += "  checkpoints not checked: no --public-key\n"
        }
        if let first = report.findings.first {
            out += "  first bad row: \(first.message)\n"
            for finding in report.findings.dropFirst() { out += "         \(finding.message)\n" }
            out += "verify --chain: \(report.violations) MISMATCHES"
        } else {
            out += "verify --chain: the chain holds"
        }
        return out
    }

    static func render(_ report: VerificationReport) -> String {
        var out = "verify: \(report.accounts) accounts, \(report.transfers) transfers, \(report.entries) entries\n"
        for check in report.checks {
            out += "  \(check.passed ? "ok  " : "FAIL") \(check.name): \(check.description)"
            if !check.passed {
                out += " (\(check.violations) violations)"
                for line in check.examples { out += "\n         \(line)" }
            }
            out += "\n"
        }
        out += report.passed ? "verify: all invariants hold" : "verify: INVARIANTS VIOLATED"
        return out
    }
}

struct HoldsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holds", abstract: "Pending transfers (holds).", subcommands: [Expire.self])

    struct Expire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Void every hold whose timeout has passed.")
        @OptionGroup var db: DatabaseOptions
        func run() async throws {
            let n = try await db.withLedger(connections: 1) { ledger in
                var total = 0
                while true {
                    let k = try await ledger.expireHolds(limit: 5_000)
                    total += k
                    if k < 5_000 { return total }
                }
            }
            print("expired \(n) holds")
        }
    }
}

struct SnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots", abstract: "Balance snapshots for as-of queries.", subcommands: [Take.self])

    struct Take: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record every account's balance as of a time (default: now).")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "RFC 3339 effective time.") var at: String?
        func run() async throws {
            let when = try at.map(parseTime) ?? Date()
            let n = try await db.withLedger(connections: 1) { try await $0.takeSnapshots(at: when) }
            print("snapshotted \(n) accounts at \(when.formatted(.iso8601))")
        }
    }
}

func parseTime(_ text: String) throws -> Date {
    if let d = try? Date(text, strategy: .iso8601) { return d }
    if let d = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return d }
    throw ValidationError("\(text) is not an RFC 3339 time such as 2026-11-24T10:00:00Z")
}
