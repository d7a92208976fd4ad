import Foundation
import Logging
import PostgresNIO
import Scheduler
import ServiceLifecycle
import SettleTesting
import Synchronization
import Testing

/// A clock the test sets; counts its reads so that a test can wait until the worker has seen a value.
final class ManualClock: SchedulerClock {
    private let state: Mutex<(now: Date, reads: Int)>

    init(_ now: Date) { state = Mutex((now, 0)) }

    func now() async throws -> Date {
        state.withLock { s in
            s.reads += 1
            return s.now
        }
    }

    func set(_ now: Date) { state.withLock { $0.now = now } }
    var reads: Int { state.withLock { $0.reads } }
}

/// A value shared between a test and the job bodies it runs (a `Mutex` cannot be captured).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    var value: Value { mutex.withLock { $0 } }

    func update<R: Sendable>(_ body: @Sendable (inout Value) -> R) -> R {
        mutex.withLock { value in body(&value) }
    }
}

/// What job bodies saw, for the test to compare with the run history.
final class Calls: Sendable {
    private let slots = Mutex<[Date]>([])
    func record(_ slot: Date) { slots.withLock { $0.append(slot) } }
    var all: [Date] { slots.withLock { $0 } }
}

/// One row of `settle.job_runs`.
struct RunRow: Sendable, Equatable {
    var generation: Int64
    var slot: Date
    var worker: String
    var outcome: String
    var error: String?
}

enum SchedulerFixture {
    static var logger: Logger { TestDatabase.logger }

    /// A job name of its own, so that tests share the test database.
    static func jobName(_ prefix: String) -> String { "t-\(prefix)-\(UInt32.random(in: 0...UInt32.max))" }

    static func runs(_ client: PostgresClient, job: String) async throws -> [RunRow] {
        var rows: [RunRow] = []
        for try await (generation, slot, worker, outcome, error) in try await client.query(
            "select generation, scheduled_for, worker, outcome, error from settle.job_runs where job = \(job) order by generation",
            logger: logger
        ).decode((Int64, Date, String, String, String?).self) {
            rows.append(RunRow(generation: generation, slot: slot, worker: worker, outcome: outcome, error: error))
        }
        return rows
    }

    static func leaseHolder(_ client: PostgresClient, job: String) async throws -> String? {
        for try await holder in try await client.query("select holder from settle.job_leases where job = \(job)", logger: logger)
            .decode(String?.self)
        {
            return holder
        }
        return nil
    }

    static func databaseNow(_ client: PostgresClient) async throws -> Date {
        for try await now in try await client.query("select now()", logger: logger).decode(Date.self) { return now }
        throw SchedulerError(.database, "no now()")
    }

    /// Waits for `condition` with a deadline (a guard against a hang, not a measurement).
    static func eventually(
        _ what: String, within limit: Duration = .seconds(60), _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting: \(what)")
        throw CancellationError()
    }

    /// Short polls, as tests need them. Leases long enough that a loaded machine (the whole suite on
    /// two cores) does not starve a heartbeat into a takeover; the tests of takeovers expire a lease
    /// themselves.
    static func configuration(_ id: String, grace: Duration = .seconds(5), retry: Duration = .seconds(60)) -> WorkerConfiguration {
        WorkerConfiguration(id: id, leaseDuration: .seconds(15), pollInterval: .milliseconds(100), retryDelay: retry, shutdownGrace: grace)
    }

    /// What the passing of time does to a lease: it expires (by the database's clock, now).
    static func expireLease(_ client: PostgresClient, job: String) async throws {
        try await client.query("update settle.job_leases set expires_at = now() - interval '1 second' where job = \(job)", logger: logger)
    }
}

/// Workers running in a service group of their own, stopped gracefully by the test.
struct RunningWorkers {
    let group: ServiceGroup
    let task: Task<Void, any Error>

    init(_ workers: [Worker]) {
        let group = ServiceGroup(configuration: .init(services: workers.map { .init(service: $0) }, logger: SchedulerFixture.logger))
        self.group = group
        task = Task { try await group.run() }
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}
