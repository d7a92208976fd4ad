import CardRail
import DevChain
import ERC20Rail
import EVM
import Foundation
import Ledger
import RailKit
import Reconciliation
import TempoRail
import X402

/// The full demo on a running ``Stack``: simulated agents pay the paid route over x402 exact, MPP
/// tempo/charge, MPP tempo/session (vouchers on a channel, closed at the end) and MPP
/// stripe/charge (cards); the card processor pays out to the merchant's bank, whose statement the
/// bank-file rail reads; faults are injected behind the ledger's back (a reorg past finality,
/// which the chain's balance shows too, a lost webhook, a late payout, a payout that never reaches
/// the bank); then each rail is reconciled for the day, as the nightly run would after every SLA
/// has passed, and the report is written.
///
/// The stack must not watch its rails (``StackConfiguration/watchesRails`` false): the demo pulls
/// them itself, so that what it holds back stays unbooked.
public struct Demo: Sendable {
    public var stack: RunningStack
    /// Agents per way to pay.
    public var agents: Int
    /// Payments each x402 and tempo/charge agent makes.
    public var paymentsPerAgent: Int
    /// Where the report goes.
    public var reportDirectory: String
    public var progress: DemoProgress

    public init(stack: RunningStack, agents: Int = 4, paymentsPerAgent: Int = 3, reportDirectory: String, progress: DemoProgress) {
        self.stack = stack
        self.agents = max(2, min(agents, 8))
        self.paymentsPerAgent = max(1, paymentsPerAgent)
        self.reportDirectory = reportDirectory
        self.progress = progress
    }

    /// How long the demo waits for the chain to reach a condition before it gives up.
    static let patience: Duration = .seconds(60)

    public func run() async throws -> DemoOutcome {
        let started = Date()
        progress.line("agents pay \(stack.paidURL) over every rail:")
        let paid = try await payEveryRail()
        progress.finish()
        let bank = try await DemoBank.open(stack: stack, directory: reportDirectory)
        do {
            let outcome = try await injectAndReconcile(paid: paid, started: started, bank: bank)
            await bank.rail.shutdown()
            return outcome
        } catch {
            await bank.rail.shutdown()
            throw error
        }
    }

    func injectAndReconcile(paid: Paid, started: Date, bank: DemoBank) async throws -> DemoOutcome {
        progress.line("injecting faults:")
        let (bankFaults, instantPayments) = try await payOutToTheBank(bank)
        var faults = bankFaults
        faults += try await reorgAFinalPayment()
        faults += try await actBehindTheLedger(visaPayment: paid.visaPayment)
        for fault in faults { progress.line("  \(fault.name): \(fault.explanation)") }
        // Everything else reaches the ledger: the Tempo chain's transfers, in full, and the bank's.
        _ = try await stack.booker.sync(stack.tempoRail)
        _ = try await stack.booker.sync(bank.rail)

        // Every day the demo's money moved on (two when it ran across midnight UTC), each as the
        // nightly run would see it.
        let days = try ReconciliationDay.days(from: started, to: Date())
        progress.line("reconciling \(days.map(\.date).joined(separator: " and ")) as the nightly run would, after every SLA:")
        let reconciler = Reconciler(ledger: stack.ledger, actor: "settle demo")
        let store = ReconciliationStore(ledger: stack.ledger)
        var runs: [ReconciliationRun] = []
        var breaks: [DemoOutcome.Finding] = []
        var timing: [DemoOutcome.Finding] = []
        let rails: [any Rail] = [stack.chainRail, stack.tempoRail, stack.cardRail, bank.rail]
        // The card rail's rule, as a rails file's `reconciliation` object gives it.
        let cardProfile = try ReconciliationProfile.configured(for: stack.cardRail.descriptor, settings: bank.cardReconciliation)
        var reportPaths: [String] = []
        try FileManager.default.createDirectory(atPath: reportDirectory, withIntermediateDirectories: true)
        for day in days {
            let asOf = day.cutoff.addingTimeInterval(2 * 86_400)
            var dayRuns: [ReconciliationRun] = []
            for rail in rails {
                let profile = rail.descriptor.id == stack.cardRail.descriptor.id ? cardProfile : nil
                let run = try await reconciler.run(rail: rail, day: day, profile: profile, asOf: asOf)
                dayRuns.append(run)
                for found in try await store.breaks(run: run.id) {
                    let fault = faults.first { $0.matches(found) }
                    let finding = DemoOutcome.Finding(
                        found: found, explanation: fault?.explanation ?? Self.explain(found), fault: fault?.name)
                    if found.code.isError { breaks.append(finding) } else { timing.append(finding) }
                }
            }
            runs += dayRuns
            let report = try await ReconciliationReport.load(store, day: day.date, only: Set(dayRuns.map(\.rail)))
            let base = URL(fileURLWithPath: reportDirectory).appendingPathComponent("reconciliation-\(day.date)")
            try Data(ReportPage.html(report).utf8).write(to: base.appendingPathExtension("html"))
            try report.json().write(to: base.appendingPathExtension("json"))
            reportPaths.append(base.appendingPathExtension("html").path)
        }
        let missed = faults.filter { fault in !breaks.contains { fault.matches($0.found) } }

        var balances: [(account: String, posted: String)] = []
        for account in [stack.merchantAccount, stack.tempoMerchantAccount, stack.cardMerchantAccount] {
            balances.append((account.rawValue, String(describing: try await stack.ledger.balance(of: account).posted)))
        }
        return DemoOutcome(
            payments: paid.counts + [("mpp stripe/charge, instant, funding the payouts", instantPayments)], balances: balances, runs: runs,
            breaks: breaks, timing: timing, missed: missed,
            reportPaths: reportPaths)
    }

    /// What the agents paid, and one card payment to refund behind the ledger's back.
    struct Paid {
        var counts: [(scheme: String, count: Int)]
        var visaPayment: String
    }

    /// Every agent pays at once; each makes its payments one after the other. Card agents pay once
    /// each, half of them with a card whose funds are available at once (so there is something to
    /// pay out).
    func payEveryRail() async throws -> Paid {
        let (url, network, perAgent) = (stack.paidURL, stack.token.network, paymentsPerAgent)
        let processor = CardProcessorClient(baseURL: stack.cardmockURL, apiKey: Stack.cardmockAPIKey)
        let labels = (x402: "x402 exact", tempo: "mpp tempo/charge", session: "mpp tempo/session", card: "mpp stripe/charge")
        // Session agents pay many calls each, on one channel: the case sessions exist for.
        let (sessions, callsPerSession) = (max(1, agents / 2), 10 * perAgent)
        progress.expect(labels.x402, total: agents * perAgent)
        progress.expect(labels.tempo, total: agents * perAgent)
        progress.expect(labels.session, total: sessions * callsPerSession)
        progress.expect(labels.card, total: agents)
        let progress = progress
        let visa = try await withThrowingTaskGroup(of: String?.self) { group in
            for k in 0..<agents {
                let key = TestAccounts.privateKeys[k]
                group.addTask {
                    for _ in 0..<perAgent {
                        _ = try await X402Agent(key: key, network: network).pay(url)
                        progress.advance(labels.x402)
                    }
                    return nil
                }
                group.addTask {
                    for _ in 0..<perAgent {
                        _ = try await TempoChargeAgent(key: key).pay(url)
                        progress.advance(labels.tempo)
                    }
                    return nil
                }
                if k < sessions {
                    group.addTask {
                        _ = try await TempoSessionAgent(key: key).pay(url, calls: callsPerSession) { progress.advance(labels.session) }
                        return nil
                    }
                }
                group.addTask {
                    let method = k % 2 == 0 ? "pm_card_visa" : "pm_card_bypassPending"
                    let (intent, _) = try await CardAgent(processor: processor, paymentMethod: method).pay(url)
                    progress.advance(labels.card)
                    return method == "pm_card_visa" ? intent : nil
                }
            }
            var visa: String?
            for try await intent in group { visa = visa ?? intent }
            return visa
        }
        guard let visa else { throw StackError(.refused, "no card payment was made with pm_card_visa") }
        return Paid(
            counts: [
                (labels.x402, agents * perAgent), (labels.tempo, agents * perAgent), (labels.session, sessions * callsPerSession),
                (labels.card, agents),
            ], visaPayment: visa)
    }

    /// One more x402 payment, left to become final in the ledger, then a reorganisation of the
    /// chain from its block that drops it: the ledger keeps a final payment the chain no longer has.
    func reorgAFinalPayment() async throws -> [InjectedFault] {
        let (settlement, _) = try await X402Agent(key: TestAccounts.privateKeys[0], network: stack.token.network).pay(stack.paidURL)
        let hash = try Hash32(hex: settlement.transaction)
        let rpc = EthereumRPC(url: stack.rpcURL)
        let receipt = try await Self.waitFor("the receipt of \(hash.hex)") { try await rpc.transactionReceipt(hash) }
        let confirmations = UInt64(stack.configuration.confirmations)
        _ = try await Self.waitFor("\(confirmations) confirmations of \(hash.hex)") {
            try await rpc.blockNumber() >= receipt.blockNumber + confirmations ? true : nil
        }
        // The rail books every x402 payment, this one final too.
        _ = try await stack.booker.sync(stack.chainRail)
        let reorg = try await stack.chain.reorg(fromBlock: receipt.blockNumber, requeue: false)
        _ = try await stack.booker.sync(stack.chainRail)
        return [
            InjectedFault(
                name: "reorg", rail: stack.chainRail.descriptor.id, code: .missingInRail, reference: hash.hex,
                explanation:
                    "the chain dropped \(reorg.removedBlocks.count) blocks from \(receipt.blockNumber) after the payment \(hash.hex.prefix(12))… was final at \(confirmations) confirmations: the ledger has it, the chain no longer does"
            ),
            InjectedFault(
                name: "wallet drift", rail: stack.chainRail.descriptor.id, code: .drift,
                reference: "\(stack.token.assetID.rawValue):wallet:",
                explanation: "the merchant's balanceOf on chain is short of its wallet account by the payment the reorg dropped"),
        ]
    }

    /// The processor pays out twice, each payout sweeping what became available: the first reaches
    /// the merchant's bank (its deposit is on the statement the demo writes, naming the payout as
    /// the processor does), the second never does. An automatic payout takes everything available,
    /// so each needs funds of its own: the agents' instant cards for the first, one more instant
    /// card payment for the second, and another one for the late payout that follows.
    /// Returns the fault and the number of card payments it made.
    func payOutToTheBank(_ bank: DemoBank) async throws -> (faults: [InjectedFault], payments: Int) {
        let processor = CardProcessorClient(baseURL: stack.cardmockURL, apiKey: Stack.cardmockAPIKey)
        let instant = CardAgent(processor: processor, paymentMethod: "pm_card_bypassPending")
        func sweep() async throws -> (id: String, amount: String) {
            let payouts = try await processor.postList("/_mock/payouts/run", ["currency": "usd"])
            guard let payout = payouts.first, let id = payout["id"], let amount = payout["amount"] else {
                throw StackError(.processor, "the payout run paid nothing out: no card funds were available")
            }
            return (id, amount)
        }
        let banked = try await sweep()
        _ = try await instant.pay(stack.paidURL)
        let unbanked = try await sweep()
        _ = try await instant.pay(stack.paidURL)
        let statement = try bank.write(deposits: [banked], at: Date())
        progress.line(
            "  bank: the processor paid out \(banked.amount)¢ (\(banked.id)) and \(unbanked.amount)¢ (\(unbanked.id)); the merchant's statement \(statement.path) has the first"
        )
        let fault = [
            InjectedFault(
                name: "unbanked payout", rail: stack.cardRail.descriptor.id, code: .counterpartMissing, reference: unbanked.id,
                explanation:
                    "the processor paid out \(unbanked.amount)¢ (\(unbanked.id)) and no deposit on the merchant's bank statement names it past the card rail's \(DemoBank.slaSeconds / 3_600)-hour counterpart SLA; the payout before it (\(banked.id)) is there in full"
            )
        ]
        return (fault, 2)
    }

    /// The processor corrects a card payment's fee, refunds part of it and pays out, and the ledger
    /// is not told: the fee correction has no event, the refund's event is lost (a lost webhook), the
    /// payout is late; the processor's balance drifts from the ledger's by all three.
    func actBehindTheLedger(visaPayment: String) async throws -> [InjectedFault] {
        let rail = stack.cardRail.descriptor.id
        let asset = stack.cardRail.descriptor.assets[0].id.rawValue
        // Everything the agents paid reaches the ledger first.
        _ = try await stack.booker.sync(stack.cardRail)
        let processor = CardProcessorClient(baseURL: stack.cardmockURL, apiKey: Stack.cardmockAPIKey)
        let (refunded, paidOut, extraFee) = (10, 15, 3)
        // A fee correction the processor never sends an event for, on the payment it refunds below.
        guard let charge = try await processor.get("/v1/payment_intents/\(visaPayment)")["latest_charge"],
            let captured = try await processor.get("/v1/charges/\(charge)")["balance_transaction"],
            let fee = try await processor.get("/v1/balance_transactions/\(captured)")["fee"].flatMap({ Int($0) })
        else { throw StackError(.processor, "the card payment \(visaPayment) has no balance transaction with a fee") }
        try await processor.post("/_mock/balance_transactions/\(captured)/fee", ["fee": String(fee + extraFee)])
        // The payout first: it needs available funds, which the refund takes from.
        let payout = try await processor.post("/v1/payouts", ["amount": String(paidOut), "currency": "usd"])
        let refund = try await processor.post("/v1/refunds", ["payment_intent": visaPayment, "amount": String(refunded)])
        guard let refundTxn = refund["balance_transaction"], let payoutTxn = payout["balance_transaction"], let payoutID = payout["id"]
        else { throw StackError(.processor, "the refund or the payout has no balance transaction") }
        return [
            InjectedFault(
                name: "lost webhook", rail: rail, code: .missingInLedger, reference: refundTxn,
                explanation:
                    "the processor refunded \(refunded)¢ of \(visaPayment) (\(refundTxn)) and its event never reached the ledger"),
            InjectedFault(
                name: "late payout", rail: rail, code: .missingInLedger, reference: payoutTxn,
                explanation: "the processor paid out \(paidOut)¢ (\(payoutID), \(payoutTxn)) after the ledger's last pull"),
            InjectedFault(
                name: "fee difference", rail: rail, code: .feeMismatch, reference: captured,
                explanation:
                    "the processor corrected the fee of \(captured) from \(fee)¢ to \(fee + extraFee)¢ without an event: within the card profile's 5¢ tolerance, booked to the suspense account by an audited transfer"
            ),
            InjectedFault(
                name: "drift", rail: rail, code: .drift, reference: asset,
                explanation:
                    "the processor's balance is \(refunded + paidOut + extraFee)¢ below the ledger's: the refund, the payout and the fee correction it has not booked"
            ),
        ]
    }

    /// A line for a break no injected fault explains.
    static func explain(_ found: ReconciliationBreak) -> String {
        let amounts = "rail \(found.railAmount ?? "-"), ledger \(found.ledgerAmount ?? "-")"
        switch found.code {
        case .missingInLedger: return "the rail lists it, the ledger has no transfer for it (\(amounts))"
        case .missingInRail: return "the ledger has it, the rail does not list it (\(amounts))"
        case .amountMismatch: return "the rail and the ledger disagree on the amount (\(amounts))"
        case .feeMismatch: return "the rail and the ledger disagree on the fee (\(amounts))"
        case .duplicate: return "the rail lists the same reference more than once"
        case .timing: return "not matched yet, still inside the rail's SLA: re-checked by the next run (\(amounts))"
        case .unknownAsset: return "the rail lists an asset it is not configured for"
        case .malformedRecord: return "the rail's record cannot be reconciled as given"
        case .groupMismatch: return "a payout does not sum to what it settles (\(amounts))"
        case .drift: return "the rail's balance differs from the ledger's at the cut-off (\(amounts))"
        case .clearingNotZero: return "money older than the SLA is still in a clearing account (\(amounts))"
        case .counterpartMissing: return "sent on to another rail, it never arrived there within the SLA (\(amounts))"
        case .counterpartMismatch: return "it arrived on the other rail with another amount (\(amounts))"
        }
    }

    /// Polls `condition` until it gives a value, for at most ``patience``.
    static func waitFor<T: Sendable>(_ what: String, _ condition: () async throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now + patience
        while ContinuousClock.now < deadline {
            if let value = try await condition() { return value }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw StackError(.timedOut, "gave up waiting for \(what)")
    }
}
