import ArgumentParser
import Foundation
import Ledger
import RailKit
import Reconciliation

/// `settle reconcile`: one rail, one day, with an exit status alerting can use.
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile", abstract: "Reconcile a rail's statement against the ledger for one day.",
        discussion: """
            Matches the rail's own records of the day against the ledger's transfers of that rail, checks its clearing \
            accounts and balance at the cut-off (end of the day in --time-zone), and records a run with its breaks. \
            Re-running a day records a new run and what changed; an interrupted run is resumed. \
            Exit status: 0 clean, \(ExitStatus.breaks) breaks found, \(ExitStatus.incomplete) the run is incomplete \
            (the rail failed: never green), 1 any other error.
            """)

    enum ExitStatus {
        static let breaks: Int32 = 3
        static let incomplete: Int32 = 4
    }

    @OptionGroup var options: RailsCommand.RailOptions
    @OptionGroup var db: DatabaseOptions
    @Option(help: "The rail id in the rails file.") var rail: String
    @Option(help: "The day, yyyy-MM-dd.") var date: String
    @Option(help: "The time zone whose end of day is the cut-off.") var timeZone = "UTC"
    @Option(help: "Statement records per page.") var pageSize = 500
    @Flag(help: "Print the run as JSON.") var json = false

    func run() async throws {
        let day = try ReconciliationDay(date, timeZone: timeZone)
        let (railID, pageSize) = (rail, pageSize)
        guard let configuration = try ShippedRails.configurations(options.rails).first(where: { $0.id == railID }) else {
            throw CommandFailure(description: "no rail \(railID) in the rails file")
        }
        let made = try await ShippedRails.registry.make([configuration], logger: db.logger)
        let run: ReconciliationRun
        do {
            let profile = try ReconciliationProfile.configured(for: made[0].descriptor, settings: configuration.reconciliation)
            run = try await db.withLedger(connections: 4) { ledger in
                try await Reconciler(ledger: ledger, pageSize: pageSize).run(rail: made[0], day: day, profile: profile)
            }
        } catch {
            await made[0].shutdown()
            throw error
        }
        await made[0].shutdown()
        if json {
            print(try JSONCoding.line(run))
        } else {
            print(RunText.line(run))
            if let changes = run.changes, changes.previousRun != nil {
                for fingerprint in changes.new { print("  new  \(fingerprint)") }
                for fingerprint in changes.gone { print("  gone \(fingerprint)") }
            }
        }
        if run.status != .complete { throw ExitCode(ExitStatus.incomplete) }
        if !run.isClean { throw ExitCode(ExitStatus.breaks) }
    }
}

/// Runs and breaks as lines for people.
enum RunText {
    static func line(_ run: ReconciliationRun) -> String {
        let counts = run.counts.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "run \(run.id) \(run.rail) \(run.day): \(run.status.rawValue)\(run.error.map { " (\($0))" } ?? "") \(counts)"
    }

    static func line(_ b: ReconciliationBreak) -> String {
        let state = b.resolution.map { "resolved(\($0.kind.rawValue))" } ?? (b.code.isError ? "open" : "timing")
        return [
            String(b.id), b.rail, b.day, b.code.rawValue, b.reference ?? "-", b.asset ?? "-", "rail=\(b.railAmount ?? "-")",
            "ledger=\(b.ledgerAmount ?? "-")", "since=\(b.firstSeen)", state,
        ].joined(separator: "\t")
    }
}
