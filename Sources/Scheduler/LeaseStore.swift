import Foundation
import Logging
import PostgresNIO

/// The scheduler's tables (migration v10), read and written through the functions that take every
/// decision under the job's row lock and the database's clock.
struct LeaseStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// A job's row as a worker decides from it; `now` is the database's.
    struct State: Sendable {
        var registeredAt: Date
        var doneThrough: Date?
        var holder: String?
        var expiresAt: Date
        var notBefore: Date
        var now: Date

        /// Whether another worker's lease is live.
        var isLeased: Bool { holder != nil && expiresAt > now }
    }

    /// Records the jobs' definitions (the last worker to start wins; all workers of a database should
    /// share one configuration) and creates their lease rows.
    func register(_ jobs: [Job]) async throws(SchedulerError) {
        try await database {
            try await client.withTransaction(logger: logger) { conn in
                for job in jobs {
                    let (schedule, zone, catchUp) = (job.schedule.cron.text, job.schedule.timeZoneName, job.catchUp.storedName)
                    try await conn.query(
                        """
                        insert into settle.jobs (name, schedule, time_zone, catch_up) values (\(job.name), \(schedule), \(zone), \(catchUp))
                        on conflict (name) do update set schedule = excluded.schedule, time_zone = excluded.time_zone,
                            catch_up = excluded.catch_up, updated_at = now()
                        where (jobs.schedule, jobs.time_zone, jobs.catch_up)
                            is distinct from (excluded.schedule, excluded.time_zone, excluded.catch_up)
                        """, logger: logger)
                    try await conn.query(
                        "insert into settle.job_leases (job) values (\(job.name)) on conflict do nothing", logger: logger)
                }
            }
        }
    }

    func state(of job: String) async throws(SchedulerError) -> State {
        try await database {
            let rows = try await client.query(
                """
                select j.registered_at, l.done_through, l.holder, l.expires_at, l.not_before, now()
                  from settle.jobs j join settle.job_leases l on l.job = j.name where j.name = \(job)
                """, logger: logger)
            for try await (registered, done, holder, expires, notBefore, now) in rows.decode(
                (Date, Date?, String?, Date, Date, Date).self)
            {
                return State(
                    registeredAt: registered, doneThrough: done, holder: holder, expiresAt: expires, notBefore: notBefore, now: now)
            }
            throw SchedulerError(.database, "job \(job) is not registered")
        }
    }

    /// The new lease generation, or nil if the job is leased, backing off, or the slot is done.
    func claim(_ job: String, worker: String, slot: Date, lease: Duration) async throws(SchedulerError) -> Int64? {
        try await database {
            let rows = try await client.query(
                "select settle.claim_job(\(job), \(worker), \(slot), make_interval(secs => \(lease.inSeconds)))", logger: logger)
            for try await generation in rows.decode(Int64?.self) { return generation }
            return nil
        }
    }

    func renew(_ job: String, generation: Int64, lease: Duration) async throws(SchedulerError) -> Bool {
        try await database {
            let rows = try await client.query(
                "select settle.renew_job_lease(\(job), \(generation), make_interval(secs => \(lease.inSeconds)))", logger: logger)
            for try await renewed in rows.decode(Bool.self) { return renewed }
            return false
        }
    }

    /// Records the run's end and releases the lease; false if `generation` no longer holds it.
    func finish(_ job: String, generation: Int64, outcome: RunOutcome, error: String?, retryAfter: Duration) async throws(SchedulerError)
        -> Bool
    {
        try await database {
            let rows = try await client.query(
                """
                select settle.finish_job_run(\(job), \(generation), \(outcome.rawValue), \(error),
                    make_interval(secs => \(retryAfter.inSeconds)))
                """, logger: logger)
            for try await recorded in rows.decode(Bool.self) { return recorded }
            return false
        }
    }

    private func database<T>(_ body: () async throws -> sending T) async throws(SchedulerError) -> sending T {
        do {
            return try await body()
        } catch let error as SchedulerError {
            throw error
        } catch {
            throw SchedulerError(.database, Self.describe(error))
        }
    }

    /// PSQLError hides the server's message from `description`: an operator needs it.
    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let info = e.serverInfo {
                return "PostgreSQL \(info[.sqlState] ?? "?"): \(info[.message] ?? "error")"
            }
            return "PostgreSQL connection error: \(e.code)"
        }
        if let e = error as? PostgresTransactionError {
            for inner in [e.closureError, e.commitError, e.beginError] {
                if let inner { return describe(inner) }
            }
        }
        return "\(error)"
    }
}

extension Duration {
    /// Whole and fractional seconds, for an SQL interval.
    var inSeconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
