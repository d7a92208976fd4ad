import Foundation
import Logging

/// A named piece of work that a ``Worker`` runs on a ``Schedule``, one slot at a time, on at most one
/// worker at once.
///
/// The body must be idempotent per slot: a worker that crashes mid-run leaves the slot undone, and
/// the worker that takes over after the lease expires runs it again.
public struct Job: Sendable {
    /// Unique among the jobs of every worker sharing a database: `[a-z0-9][a-z0-9._-]*`, at most 63.
    public let name: String
    public let schedule: Schedule
    public let catchUp: CatchUp
    public let body: @Sendable (JobContext) async throws -> Void

    public init(
        name: String, schedule: Schedule, catchUp: CatchUp = .latest, body: @escaping @Sendable (JobContext) async throws -> Void
    ) throws(SchedulerError) {
        guard Self.isValidName(name) else {
            throw SchedulerError(.invalidJob, "job name \(name.debugDescription) must match [a-z0-9][a-z0-9._-]*, at most 63 characters")
        }
        if case .each(let limit) = catchUp, limit < 1 {
            throw SchedulerError(.invalidJob, "job \(name): the catch-up limit must be at least 1, got \(limit)")
        }
        self.name = name
        self.schedule = schedule
        self.catchUp = catchUp
        self.body = body
    }

    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count), bytes[0].isLowercaseAlphanumeric else { return false }
        let bad = bytes.filter {
            !($0.isLowercaseAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-"))
        }
        return bad.isEmpty
    }
}

extension UInt8 {
    fileprivate var isLowercaseAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

/// What a job's body gets for one run.
///
/// The run is cancelled (Swift task cancellation) when the worker loses the job's lease or when a
/// graceful shutdown's grace period ends: long bodies should check `Task.isCancelled` or call
/// cancellable APIs, and stop promptly.
public struct JobContext: Sendable {
    public let job: String
    /// The slot this run is for (not the time it started: a caught-up run is for an earlier slot).
    public let scheduledFor: Date
    /// The job's time zone, for date-parameterised jobs.
    public let timeZone: TimeZone
    /// The worker running it (its `--id`).
    public let worker: String
    /// The lease generation (fencing token) of this run.
    public let generation: Int64
    public let logger: Logger

    /// The calendar day before the slot's day, in the job's zone: what a nightly job that runs
    /// after midnight works on.
    public var previousDay: DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let day = calendar.date(byAdding: .day, value: -1, to: scheduledFor) ?? scheduledFor
        return calendar.dateComponents([.year, .month, .day], from: day)
    }
}
