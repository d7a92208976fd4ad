import ArgumentParser
import Foundation
import Ledger
import Logging
import Reconciliation
import ServiceLifecycle
import SettleStack
import Synchronization

/// README's main job: the whole of Settle on one machine. The stack `settle sandbox` serves, agents
/// paying it over every rail, faults injected behind the ledger's back, and the reconciliation
/// finding and explaining each of them.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Agents pay over every rail, faults are injected, the reconciliation finds and explains them.",
        discussion: """
            Starts the dev chains, the card processor mock, the ledger API and the merchant server (as `settle sandbox`), \
            has simulated agents pay its route over x402 exact, MPP tempo/charge, MPP tempo/session and MPP stripe/charge, \
            has the card processor pay out to the merchant's bank (whose CSV statement the bank-file rail reads), \
            injects a reorg past finality, a fee correction without an event, a lost webhook, a late payout and a payout \
            that never reaches the bank, reconciles every rail for the day, and prints the balances, each \
            break with its explanation, the invariant check and the path of the HTML report. Exit status 0 when exactly the \
            injected faults were found, \(ExitStatus.unexpected) when a break is missing or unexpected, 1 on any other error. \
            With --ledger-only: the ledger alone, a burst of micropayments with holds and captures, then the invariant check.
            """)

    enum ExitStatus {
        static let unexpected: Int32 = 3
    }

    @OptionGroup var db: DatabaseOptions
    @Flag(help: "Only the ledger burst (no chains, no agents, no reconciliation).") var ledgerOnly = false
    @Option(help: "Agents per way to pay (2 to 8).") var agents = 4
    @Option(help: "Payments each x402 and tempo/charge agent makes.") var paymentsPerAgent = 3
    @Option(help: "The directory reports are written under (default: $SETTLE_HOME/demo).") var out: String?
    @Option(help: "--ledger-only: number of agents.") var burstAgents = 100
    @Option(help: "--ledger-only: number of micropayments.") var payments = 40_000

    func run() async throws {
        if ledgerOnly {
            let burst = LedgerBurst(agents: burstAgents, payments: payments)
            try await db.withLedger(connections: 4) { ledger in try await burst.run(ledger) }
            return
        }
        let outcome = Box()
        try await CommandLifecycle.run(logger: db.logger) { [self] in
            let (url, embedded) = try await cancelWhenGracefulShutdown { try await db.resolve() }
            if let passed = try await runDemo(url: url, embedded: embedded) { outcome.value.withLock { $0 = passed } }
        }
        guard let passed = outcome.value.withLock({ $0 }) else { throw ExitCode(1) }
        if !passed { throw ExitCode(ExitStatus.unexpected) }
    }

    /// Runs the demo on a stack of its own; whether it ran as designed (nil: stopped before).
    private func runDemo(url: DatabaseURL, embedded: Bool) async throws -> Bool? {
        let tag = String(UInt64(Date().timeIntervalSince1970 * 1_000), radix: 36)
        let directory = (out ?? StackConfiguration.home + "/demo") + "/" + tag
        let cardmock = directory + "/cardmock"
        defer { try? FileManager.default.removeItem(atPath: cardmock) }
        let stack = Stack(
            configuration: StackConfiguration(
                port: 0, apiPort: 0, chainPort: 0, tempoPort: 0, cardmockPort: 0, cardmockDirectory: cardmock,
                cardRailID: "demo-card-\(tag)",
                cardAssetPrefix: "card\(tag)", watchesRails: false, label: "settle demo", runTag: tag),
            logger: db.logger)
        let (agents, perAgent) = (agents, paymentsPerAgent)
        return try await stack.run(database: url, embedded: embedded) { running in
            let progress = DemoProgress()
            progress.line("settle demo: merchant \(running.server), ledger API \(running.ledgerURL), card processor \(running.cardmockURL)")
            let demo = Demo(stack: running, agents: agents, paymentsPerAgent: perAgent, reportDirectory: directory, progress: progress)
            let outcome = try await demo.run()
            let verification = try await running.ledger.verify()
            Self.print(outcome)
            Swift.print(VerifyCommand.render(verification))
            for path in outcome.reportPaths { Swift.print("report: \(path)") }
            return outcome.ranAsDesigned && verification.passed
        }
    }

    static func print(_ outcome: DemoOutcome) {
        Swift.print("payments: " + outcome.payments.map { "\($0.scheme) \($0.count)" }.joined(separator: ", "))
        Swift.print("balances (base units):")
        for (account, posted) in outcome.balances {
            Swift.print("  \(account.padding(toLength: 34, withPad: " ", startingAt: 0)) \(posted)")
        }
        Swift.print("reconciliation:")
        for run in outcome.runs { Swift.print("  " + RunText.line(run)) }
        let expected = outcome.breaks.filter { $0.fault != nil }.count
        Swift.print("breaks: \(outcome.breaks.count) (\(expected) of the injected faults)")
        for finding in outcome.breaks {
            let b = finding.found
            Swift.print("break \(finding.fault ?? "unexpected") \(b.code.rawValue) \(b.rail) \(b.reference ?? "-"): \(finding.explanation)")
        }
        for fault in outcome.missed {
            Swift.print("missed \(fault.name) \(fault.code.rawValue) \(fault.rail) \(fault.reference): not found by the reconciliation")
        }
        if !outcome.timing.isEmpty { Swift.print("timing (not errors yet):") }
        for finding in outcome.timing {
            let b = finding.found
            Swift.print("  timing \(b.rail) \(b.reference ?? "-"): \(finding.explanation)")
        }
        Swift.print(
            outcome.ranAsDesigned
                ? "the demo ran as designed: every injected fault was found and explained" : "the demo did NOT run as designed")
    }

    /// The outcome, from the lifecycle's task to the command's.
    private final class Box: Sendable {
        let value = Mutex<Bool?>(nil)
    }
}
