import ArgumentParser
import Foundation
import Reconciliation

/// `settle report`: the day's reconciliation as a self-contained HTML page and JSON.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Write a day's reconciliation report: HTML (no external assets) and the same data as JSON.")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "The day, yyyy-MM-dd.") var date: String
    @Option(help: "The directory to write into.") var out = "."

    func run() async throws {
        let date = date
        _ = try ReconciliationDay(date)
        let report = try await db.withLedger(connections: 2) { ledger in
            try await ReconciliationReport.load(ReconciliationStore(ledger: ledger), day: date)
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let base = URL(fileURLWithPath: out).appendingPathComponent("reconciliation-\(date)")
        try Data(ReportPage.html(report).utf8).write(to: base.appendingPathExtension("html"))
        try report.json().write(to: base.appendingPathExtension("json"))
        print(base.appendingPathExtension("html").path)
        print(base.appendingPathExtension("json").path)
    }
}
