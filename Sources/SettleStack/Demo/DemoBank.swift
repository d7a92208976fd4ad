import Foundation
import Ledger
import Logging
import RailKit

/// The merchant's bank account in the demo: the bank-file rail (`Plugins/BankFileRail`, the
/// Python process rail) reading a statement directory the demo writes, and the card rail's
/// counterpart rule that each payout must reach it (decision 0045).
public struct DemoBank: Sendable {
    public var rail: ProcessRail
    /// Where the demo writes the statement, one CSV file per day.
    public var statements: URL
    /// The card rail's `reconciliation` object, as a rails file would give it.
    public var cardReconciliation: Metadata

    /// One day: the mock's payouts arrive a day after they are sent (`arrival_date`), and the demo
    /// reconciles two days after the cut-off, so a payout no bank line names is a break by then.
    public static let slaSeconds = 86_400
    static let script = "Plugins/BankFileRail/bank_file_rail.py"
    static let header = "id,booked_at,amount,currency,direction,counterparty,reference"

    /// Starts the rail on `directory/bank-statements` and installs it.
    static func open(stack: RunningStack, directory: String) async throws -> DemoBank {
        let statements = URL(fileURLWithPath: directory).appendingPathComponent("bank-statements")
        try FileManager.default.createDirectory(at: statements, withIntermediateDirectories: true)
        let tag = stack.configuration.runTag
        let id = "demo-bank-\(tag)"
        // The rail needs the standard library only: any python3 (scripts/bootstrap installs it).
        let configuration = RailConfiguration(
            id: id, kind: ProcessRail.kind,
            settings: [
                "command": .array([.string("python3"), .string(try locateScript())]), "directory": .string(statements.path),
                "asset": .string("usd-bank-\(tag)"), "currency": .string("USD"), "scale": .number("2"),
                "merchant_account": .string("merchant:bank\(tag)"),
            ])
        var logger = Logger(label: "settle.demo.bank")
        // Its lines would interleave with the demo's own output; failures still surface as errors.
        logger.logLevel = .warning
        let rail = try await ProcessRail.launch(configuration, logger: logger)
        do {
            try await stack.booker.install(rail.descriptor)
        } catch {
            await rail.shutdown()
            throw error
        }
        let rule: JSONValue = .object([
            "transition": .string("paid_out"), "matched_by": .string("parent"), "rail": .string(id),
            "counterpart_transition": .string("received"), "reference_key": .string("bank_reference"),
            "sla_seconds": .number(String(slaSeconds)),
        ])
        return DemoBank(rail: rail, statements: statements, cardReconciliation: ["counterparts": .array([rule])])
    }

    /// Writes the statement with one deposit per payout, as the bank books it: the payout's amount,
    /// the processor as counterparty and the payout id as the reference.
    func write(deposits payouts: [(id: String, amount: String)], at date: Date) throws -> URL {
        let day = date.formatted(.iso8601.year().month().day().dateSeparator(.dash))
        let lines = payouts.map { "bank-\($0.id),\(date.formatted(.iso8601)),\($0.amount),USD,credit,STRIPE PAYOUT,\($0.id)" }
        let file = statements.appendingPathComponent("\(day).csv")
        try Data(([Self.header] + lines).map { $0 + "\n" }.joined().utf8).write(to: file)
        return file
    }

    /// The rail's script: under the working directory (the demo runs from the repository) or
    /// above the binary (`.build/<configuration>/settle`).
    static func locateScript() throws -> String {
        var places = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            places.append(executable.deletingLastPathComponent())
        }
        for place in places {
            var directory = place
            for _ in 0..<5 {
                let candidate = directory.appendingPathComponent(script)
                if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw StackError(
            .notStarted,
            "\(script) is neither under \(places.map(\.path).joined(separator: " nor ")) nor above: run the demo from the repository")
    }
}
