import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// Runs registered ``Job``s on their schedules, each on at most one worker of the database at a time.
///
/// For each job the worker reads the job's row, works out the slot that is due (``CatchUp``), takes
/// the job's lease for that slot in one statement, runs the body while renewing the lease every
/// third of its duration, then records the outcome and releases the lease under the same
/// generation (the fencing token). A worker that dies leaves its lease to expire; the next worker
/// to look takes it over and runs the slot again, marking the dead run abandoned.
///
/// On graceful shutdown the worker takes no new slot; a running job may finish within
/// ``WorkerConfiguration/shutdownGrace``, after which it is cancelled and recorded as such; either
/// way its lease is released, so another worker can go on at once. Cancelling the service's task
/// cancels running jobs at once (and still records them).
///
/// The ``PostgresClient`` must be running; the database must be migrated (v10).
public struct Worker: Service {
    public let jobs: [Job]
    public let configuration: WorkerConfiguration
    let clock: (any SchedulerClock)?
    let store: LeaseStore
    let logger: Logger

    /// - Parameter clock: where "now" comes from when deciding what is due; nil (the default) uses
    ///   the database's `now()`.
    public init(
        client: PostgresClient, jobs: [Job], configuration: WorkerConfiguration = .init(), clock: (any SchedulerClock)? = nil,
        logger: Logger
    ) throws(SchedulerError) {
        try configuration.validate()
        var seen = Set<String>()
        for job in jobs where !seen.insert(job.name).inserted {
            throw SchedulerError(.invalidJob, "two jobs are named \(job.name)")
        }
        self.jobs = jobs
        self.configuration = configuration
        self.clock = clock
        self.store = LeaseStore(client: client, logger: logger)
        var logger = logger
        logger[metadataKey: "worker"] = "\(configuration.id)"
        self.logger = logger
    }

    public func run() async throws {
        try await store.register(jobs)
        logger.notice("worker started", metadata: ["jobs": "\(jobs.map(\.name).joined(separator: ","))"])
        await withTaskGroup(of: Void.self) { group in
            for job in jobs { group.addTask { await self.loop(job) } }
        }
        logger.notice("worker stopped")
    }

    private func loop(_ job: Job) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let wait: Duration
            do {
                wait = try await step(job)
            } catch {
                logger.error("job step failed", metadata: ["job": "\(job.name)", "error": "\(error)"])
                wait = configuration.pollInterval
            }
            if wait > .zero { try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) } }
        }
    }

    /// Runs the job's due slot if it can take the lease; returns how long to wait before looking again.
    private func step(_ job: Job) async throws -> Duration {
        let state = try await store.state(of: job.name)
        let now = try await clock?.now() ?? state.now
        let floor = state.doneThrough ?? state.registeredAt
        let due: [Date]
        switch job.catchUp {
        case .latest: due = job.schedule.latest(after: floor, notAfter: now).map { [$0] } ?? []
        case .each(let limit): due = job.schedule.slots(after: floor, notAfter: now, limit: limit)
        }
        guard let slot = due.first else {
            guard let next = job.schedule.next(after: max(floor, now)) else { return configuration.pollInterval }
            return bounded(next.timeIntervalSince(now))
        }
        if state.isLeased { return bounded(state.expiresAt.timeIntervalSince(state.now)) }
        if state.notBefore > state.now { return bounded(state.notBefore.timeIntervalSince(state.now)) }
        guard let generation = try await store.claim(job.name, worker: configuration.id, slot: slot, lease: configuration.leaseDuration)
        else {
            // Another worker claimed it between the read and the claim: look again shortly.
            return .milliseconds(50)
        }
        await execute(job, slot: slot, generation: generation)
        return .zero
    }

    /// A wait of `seconds`, at most the poll interval (so a clock jump or a released lease is seen).
    private func bounded(_ seconds: TimeInterval) -> Duration {
        let wait = Duration.milliseconds(Int64((max(seconds, 0) * 1_000).rounded(.up)))
        return min(max(wait, .milliseconds(10)), configuration.pollInterval)
    }

    private func execute(_ job: Job, slot: Date, generation: Int64) async {
        var logger = logger
        logger[metadataKey: "job"] = "\(job.name)"
        logger[metadataKey: "slot"] = "\(slot.formatted(.iso8601))"
        logger[metadataKey: "generation"] = "\(generation)"
        let context = JobContext(
            job: job.name, scheduledFor: slot, timeZone: job.schedule.timeZone, worker: configuration.id, generation: generation,
            logger: logger)
        logger.info("running job")
        let started = ContinuousClock.now
        let (outcome, error) = await supervise(job, context, logger: logger)
        let elapsed = ContinuousClock.now - started
        // The record must be written even when this task was cancelled (a hard stop).
        let (store, retryDelay) = (store, configuration.retryDelay)
        let recorded = await Task {
            try await store.finish(job.name, generation: generation, outcome: outcome, error: error, retryAfter: retryDelay)
        }.result
        switch recorded {
        case .success(true):
            let level: Logger.Level = outcome == .succeeded ? .info : .warning
            logger.log(
                level: level, "job ended", metadata: ["outcome": "\(outcome.rawValue)", "error": "\(error ?? "")", "elapsed": "\(elapsed)"])
        case .success(false):
            logger.warning("the lease was lost: this run's outcome is not recorded", metadata: ["outcome": "\(outcome.rawValue)"])
        case .failure(let failure):
            logger.error("could not record the run; the lease will expire", metadata: ["error": "\(failure)"])
        }
        WorkerMetrics.record(job: job.name, outcome: outcome, elapsed: elapsed)
    }

    private enum Event: Sendable {
        case finished(RunOutcome, String?)
        case lostLease
        case graceOver
        case nothing
    }

    /// Runs the body beside its heartbeat and the shutdown's grace timer; whichever of those ends
    /// first cancels the body.
    private func supervise(_ job: Job, _ context: JobContext, logger: Logger) async -> (RunOutcome, String?) {
        let (grace, lease) = (configuration.shutdownGrace, configuration.leaseDuration)
        return await withTaskGroup(of: Event.self) { group in
            group.addTask {
                do {
                    try await job.body(context)
                    return .finished(.succeeded, nil)
                } catch {
                    let cancelled = Task.isCancelled || error is CancellationError
                    return .finished(cancelled ? .cancelled : .failed, "\(error)")
                }
            }
            group.addTask { await self.heartbeat(job.name, generation: context.generation, lease: lease, logger: logger) }
            group.addTask {
                do { try await gracefulShutdown() } catch { return .nothing }
                logger.notice("stopping: the running job may finish within the grace period", metadata: ["grace_period": "\(grace)"])
                do { try await Task.sleep(for: grace) } catch { return .nothing }
                return .graceOver
            }
            var cause: String?
            while let event = await group.next() {
                switch event {
                case .finished(let outcome, let error):
                    group.cancelAll()
                    return outcome == .cancelled && cause != nil ? (.cancelled, cause) : (outcome, error)
                case .lostLease:
                    cause = "the lease was lost"
                    group.cancelAll()
                case .graceOver:
                    cause = "the shutdown's grace period ended"
                    group.cancelAll()
                case .nothing:
                    continue
                }
            }
            return (.cancelled, cause)
        }
    }

    /// Renews the lease every third of its duration; `.lostLease` once another worker holds it, or
    /// when no renewal succeeded for a whole lease duration (the database unreachable: another
    /// worker may take it over by now).
    private func heartbeat(_ job: String, generation: Int64, lease: Duration, logger: Logger) async -> Event {
        var renewed = ContinuousClock.now
        while true {
            do { try await Task.sleep(for: lease / 3) } catch { return .nothing }
            do {
                guard try await store.renew(job, generation: generation, lease: lease) else { return .lostLease }
                renewed = .now
            } catch {
                if Task.isCancelled { return .nothing }
                logger.warning("could not renew the lease", metadata: ["error": "\(error)"])
                if ContinuousClock.now - renewed >= lease { return .lostLease }
            }
        }
    }
}
