import Crypto
import Foundation
import Ledger
import Logging
import RailKit
import Scheduler
import Webhooks
import X402

/// The jobs `settle worker` runs, built from its settings and the parts they need.
///
/// `reconcile` is the seam for the nightly reconciliation (issue 13, items 2–3, module
/// `Reconciliation`): the job `reconcile` is registered only when it is set, and gets the previous
/// day in the worker's zone, once per missed night (up to 31) so that a worker down for a weekend
/// reconciles each day.
struct WorkerJobs {
    var settings: WorkerSettings
    var ledger: PostgresLedger
    var rails: [any Rail]
    var booker: RailBooker
    /// Reconciles one day (year, month, day in the worker's zone).
    var reconcile: (@Sendable (_ day: DateComponents, _ context: JobContext) async throws -> Void)?
    /// The x402 facilitators of the facilitator file `settle serve` uses, whose broadcast
    /// settlements nobody came back for are followed by `x402-pending`.
    var facilitators: [X402Facilitator] = []
    /// Their batch-settlement facilitators, whose deposits, claims, sweeps and refunds
    /// `x402-pending` follows too.
    var batchFacilitators: [X402BatchFacilitator] = []
    /// The key `chain-checkpoint` signs with; without one that job is not registered.
    var chainKey: Curve25519.Signing.PrivateKey?

    /// How many missed days the date-parameterised jobs catch up.
    static let catchUpDays = 31

    func build() throws -> [Job] {
        var jobs: [Job] = []
        let ledger = ledger
        if let schedule = try settings.schedule("holds-expire") {
            jobs.append(
                try Job(name: "holds-expire", schedule: schedule) { context in
                    var total = 0
                    while true {
                        try Task.checkCancellation()
                        let n = try await ledger.expireHolds(limit: 5_000)
                        total += n
                        if n < 5_000 { break }
                    }
                    if total > 0 { context.logger.info("expired holds", metadata: ["holds": "\(total)"]) }
                })
        }
        if !rails.isEmpty, let schedule = try settings.schedule("rails-sync") {
            let (rails, booker) = (rails, booker)
            jobs.append(
                try Job(name: "rails-sync", schedule: schedule) { context in
                    // Each rail is pulled even if an earlier one fails; the run fails if any did.
                    var failures: [String] = []
                    for rail in rails {
                        try Task.checkCancellation()
                        do {
                            let report = try await booker.sync(rail)
                            context.logger.info("synced rail", metadata: ["rail": "\(rail.descriptor.id)", "report": "\(report)"])
                        } catch {
                            failures.append("\(rail.descriptor.id): \(error)")
                        }
                    }
                    if !failures.isEmpty { throw RailSyncFailure(description: failures.joined(separator: "; ")) }
                })
        }
        if !facilitators.isEmpty, let schedule = try settings.schedule("x402-pending") {
            let follower = X402Follower(facilitators: facilitators, batchFacilitators: batchFacilitators)
            jobs.append(
                try Job(name: "x402-pending", schedule: schedule) { context in
                    // A request that timed out before its receipt left the settlement broadcast: its
                    // receipt is read (the stored transaction re-sent if the node lost it) and the
                    // outcome recorded and booked, so no payment stays unresolved.
                    // Then what was settled is followed until final: a reorganization that drops a
                    // settlement sends it again, or reverses its revenue when it can no longer be paid.
                    let report = try await follower.pass()
                    if report != .init() {
                        context.logger.info(
                            "x402 followed",
                            metadata: [
                                "resolved": "\(report.resolved)", "settlements": "\(report.settlements)",
                                "batch_transactions": "\(report.batchTransactions)",
                            ])
                    }
                })
        }
        if let schedule = try settings.schedule("snapshots") {
            jobs.append(
                try Job(name: "snapshots", schedule: schedule, catchUp: .each(limit: Self.catchUpDays)) { context in
                    // Balances as of the start of the slot's day in the worker's zone, as the timer did
                    // (it ran after midnight UTC for that midnight).
                    var calendar = Calendar(identifier: .gregorian)
                    calendar.timeZone = context.timeZone
                    let midnight = calendar.startOfDay(for: context.scheduledFor)
                    let n = try await ledger.takeSnapshots(at: midnight)
                    context.logger.info("took snapshots", metadata: ["accounts": "\(n)", "at": "\(midnight.formatted(.iso8601))"])
                })
        }
        if let schedule = try settings.schedule("chain-advance") {
            let budget = settings.chainLinksPerSecond
            jobs.append(
                try Job(name: "chain-advance", schedule: schedule) { context in
                    // Rows are protected once chained: the schedule is the window of decision 0031.
                    let advance = try await ledger.advanceChain(maxLinksPerSecond: budget)
                    if advance.links > 0 {
                        context.logger.info("chained", metadata: ["links": "\(advance.links)", "accounts": "\(advance.accounts)"])
                    }
                    // The others were chained; the run fails so that the stuck accounts are seen.
                    if !advance.problems.isEmpty { throw ChainFailure(description: advance.problems.joined(separator: "; ")) }
                })
        }
        if let chainKey, let schedule = try settings.schedule("chain-checkpoint") {
            jobs.append(
                try Job(name: "chain-checkpoint", schedule: schedule) { context in
                    try await ledger.advanceChain()
                    let checkpoint = try await ledger.takeChainCheckpoint(signingKey: chainKey)
                    let line = try JSONCoding.line(checkpoint)
                    context.logger.notice("chain checkpoint", metadata: ["checkpoint": "\(line)"])
                })
        }
        if let schedule = try settings.schedule("partitions") {
            jobs.append(
                try Job(name: "partitions", schedule: schedule) { context in
                    // Ahead of need: a row no range takes lands in the DEFAULT partition, which makes
                    // every later partition attached beside it scan it (decision 0040).
                    let made = try await ledger.ensurePartitions()
                    if made > 0 { context.logger.info("created partitions", metadata: ["partitions": "\(made)"]) }
                })
        }
        if let schedule = try settings.schedule("webhooks") {
            jobs.append(
                try Job(name: "webhooks", schedule: schedule) { context in
                    // An endpoint that fails waits its back-off; the others are served meanwhile.
                    var deliverer = WebhookDeliverer(ledger: ledger)
                    deliverer.logger = context.logger
                    let report = try await deliverer.deliverDue()
                    if report.delivered > 0 || report.failed > 0 {
                        context.logger.info("webhooks", metadata: ["report": "\(report)"])
                    }
                })
        }
        if let schedule = try settings.schedule("events-prune") {
            let retention = settings.eventRetention
            jobs.append(
                try Job(name: "events-prune", schedule: schedule) { context in
                    // The feed's history only: what the events announced stays in the ledger.
                    let pruning = try await ledger.pruneEvents(recordedBefore: Date().addingTimeInterval(-retention))
                    if pruning.rowsDeleted > 0 || pruning.heldBy != nil {
                        context.logger.info(
                            "events pruned",
                            metadata: [
                                "through": "\(pruning.prunedThrough)", "rows": "\(pruning.rowsDeleted)",
                                "held_by": "\(pruning.heldBy ?? "-")",
                            ])
                    }
                })
        }
        if let reconcile, let schedule = try settings.schedule("reconcile") {
            jobs.append(
                try Job(name: "reconcile", schedule: schedule, catchUp: .each(limit: Self.catchUpDays)) { context in
                    try await reconcile(context.previousDay, context)
                })
        }
        return jobs
    }
}

/// Some rails could not be pulled (the others were).
struct RailSyncFailure: Error, CustomStringConvertible {
    var description: String
}

/// Some accounts could not be chained (the others were).
struct ChainFailure: Error, CustomStringConvertible {
    var description: String
}
