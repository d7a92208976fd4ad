import Foundation
import Logging
import PostgresNIO

/// One job as `settle worker status` shows it: its definition, who holds it, and its runs.
public struct JobStatus: Sendable, Hashable, Codable {
    public var name: String
    public var schedule: String
    public var timeZone: String
    public var catchUp: String
    /// The worker whose lease is live, if any.
    public var holder: String?
    public var leaseExpiresAt: Date?
    /// The latest slot completed.
    public var doneThrough: Date?
    /// A slot that is due and not done (missed, running or failing), if any.
    public var dueSlot: Date?
    /// After a failure: no retry before this.
    public var retryAfter: Date?
    /// The next slot after now (or after the latest done slot, if the clock is behind it).
    public var nextRun: Date?
    /// The latest runs, newest first.
    public var lastRuns: [JobRun]
}

/// One run of a job, as the run history (`settle.job_runs`) records it.
public struct JobRun: Sendable, Hashable, Codable {
    public var generation: Int64
    public var scheduledFor: Date
    public var worker: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var outcome: RunOutcome
    public var error: String?
}

/// Reads the scheduler's state for people and monitoring.
public enum SchedulerStatus {
    /// Every registered job with its latest `runs` runs, and the database's now.
    public static func read(client: PostgresClient, runs: Int = 5, logger: Logger) async throws(SchedulerError) -> (
        now: Date, jobs: [JobStatus]
    ) {
        do {
            var now = Date()
            var jobs: [JobStatus] = []
            let rows = try await client.query(
                """
                select j.name, j.schedule, j.time_zone, j.catch_up, j.registered_at, l.holder, l.expires_at,
                       l.done_through, l.not_before, now()
                  from settle.jobs j join settle.job_leases l on l.job = j.name order by j.name
                """, logger: logger)
            for try await (name, schedule, zone, catchUp, registered, holder, expires, done, notBefore, dbNow) in rows.decode(
                (String, String, String, String, Date, String?, Date, Date?, Date, Date).self)
            {
                now = dbNow
                let parsed = try? Schedule(schedule, timeZone: zone)
                let floor = done ?? registered
                let live = holder != nil && expires > dbNow
                jobs.append(
                    JobStatus(
                        name: name, schedule: schedule, timeZone: zone, catchUp: catchUp, holder: live ? holder : nil,
                        leaseExpiresAt: live ? expires : nil, doneThrough: done, dueSlot: parsed?.latest(after: floor, notAfter: dbNow),
                        retryAfter: notBefore > dbNow ? notBefore : nil, nextRun: parsed?.next(after: max(floor, dbNow)), lastRuns: []))
            }
            for index in jobs.indices {
                let history = try await client.query(
                    """
                    select generation, scheduled_for, worker, started_at, finished_at, outcome, error from settle.job_runs
                     where job = \(jobs[index].name) order by generation desc limit \(runs)
                    """, logger: logger)
                for try await (generation, slot, worker, started, finished, outcome, error) in history.decode(
                    (Int64, Date, String, Date, Date?, String, String?).self)
                {
                    jobs[index].lastRuns.append(
                        JobRun(
                            generation: generation, scheduledFor: slot, worker: worker, startedAt: started, finishedAt: finished,
                            outcome: RunOutcome(rawValue: outcome) ?? .running, error: error))
                }
            }
            return (now, jobs)
        } catch let error as SchedulerError {
            throw error
        } catch {
            throw SchedulerError(.database, LeaseStore.describe(error))
        }
    }
}
