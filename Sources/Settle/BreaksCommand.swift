import ArgumentParser
import Foundation
import Ledger
import Reconciliation

/// `settle breaks`: what reconciliation found, and its resolution.
struct BreaksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breaks", abstract: "List, show and resolve reconciliation breaks.", subcommands: [List.self, Show.self, Resolve.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Breaks of the latest run of each rail and day (or of one run).")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "Only this rail.") var rail: String?
        @Option(help: "Only this day (yyyy-MM-dd).") var date: String?
        @Option(name: .customLong("run"), help: "Only this run.") var runID: Int64?
        @Flag(help: "Only open breaks (not resolved, not timing).") var open = false
        @Flag(help: "One JSON object per line.") var json = false

        func run() async throws {
            let (rail, date, runID, open) = (rail, date, runID, open)
            let breaks = try await db.withLedger(connections: 2) { ledger in
                try await ReconciliationStore(ledger: ledger).breaks(run: runID, rail: rail, day: date, openOnly: open)
            }
            for b in breaks { print(json ? try JSONCoding.line(b) : RunText.line(b)) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A break with its evidence.")
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "The break id.") var id: Int64

        func run() async throws {
            let id = id
            let record = try await db.withLedger(connections: 2) { ledger in try await ReconciliationStore(ledger: ledger).breakRecord(id) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(record), as: UTF8.self))
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve a break: with an adjusting transfer (--debit, --credit, --amount) or an explanation alone.",
            discussion: """
                The adjusting transfer's id is recon:resolve:<break id>, so resolving twice books once. The resolution \
                (who, why, which transfer) is kept for good and covers the same difference in later runs of the rail.
                """)
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "The break id.") var id: Int64
        @Option(help: "Why: the explanation, or what the transfer corrects.") var note: String
        @Option(help: "Who resolves it.") var actor = ProcessInfo.processInfo.environment["USER"] ?? "operator"
        @Option(help: "Account to debit.") var debit: String?
        @Option(help: "Account to credit.") var credit: String?
        @Option(help: "Amount in base units.") var amount: String?

        func validate() throws {
            let given = [debit, credit, amount].compactMap { $0 }.count
            guard given == 0 || given == 3 else { throw ValidationError("--debit, --credit and --amount go together") }
        }

        func run() async throws {
            var transfer: NewTransfer?
            if let debit, let credit, let amount {
                guard let value = UInt256(decimal: amount), !value.isZero else {
                    throw ValidationError("--amount must be a positive integer")
                }
                transfer = NewTransfer(
                    id: try TransferID("recon:resolve:\(id)"),
                    .post([.debit(try AccountID(debit), value), .credit(try AccountID(credit), value)]),
                    metadata: ["reconciliation_break": .string(String(id)), "note": .string(note)])
            }
            let (id, note, actor, adjusting) = (id, note, actor, transfer)
            let record = try await db.withLedger(connections: 2) { ledger in
                try await ReconciliationStore(ledger: ledger).resolve(id, note: note, actor: actor, transfer: adjusting)
            }
            print(RunText.line(record))
        }
    }
}
