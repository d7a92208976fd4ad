import Foundation
import PostgresNIO
import Scheduler
import ServiceLifecycle
import SettleTesting
import Testing

/// Workers on the real test database: one run per slot across workers, catch-up, clock jumps,
/// failures and graceful stops. Waits poll the run history with a deadline.
@Suite("worker", .timeLimit(.minutes(3)))
struct WorkerTests {
    typealias F = SchedulerFixture

    @Test func twoWorkersRunEachSlotOnce() async throws {
        let client = try await TestDatabase.client()
        let name = F.jobName("once")
        let calls = Calls()
        let job = try Job(name: name, schedule: try Schedule("* * * * * *")) { context in
            calls.record(context.scheduledFor)
            try await Task.sleep(for: .milliseconds(30))
        }
        let workers = try ["a", "b"].map { id in
            try Worker(client: client, jobs: [job], configuration: F.configuration("\(name)-\(id)"), logger: F.logger)
        }
        let running = RunningWorkers(workers)
        try await F.eventually("five runs") { try await F.runs(client, job: name).filter { $0.outcome == "succeeded" }.count >= 5 }
        try await running.stop()

        let runs = try await F.runs(client, job: name)
        let notSucceeded = runs.filter { $0.outcome != "succeeded" }
        #expect(notSucceeded.isEmpty, "\(notSucceeded)")
        let slots = runs.map(\.slot)
        #expect(Set(slots).count == slots.count, "a slot ran twice: \(slots)")
        #expect(calls.all.sorted() == slots.sorted(), "the bodies ran exactly the recorded runs")
        #expect(try await F.leaseHolder(client, job: name) == nil, "the lease is released on stop")
    }

    @Test func aMissedNightIsCaughtUpOncePerDayOrOnceInAll() async throws {
        let client = try await TestDatabase.client()
        let start = try await F.databaseNow(client)
        let clock = ManualClock(start.addingTimeInterval(3 * 86_400 + 3_600))
        let schedule = try Schedule("0 3 * * *", timeZone: "Europe/Berlin")
        let (each, capped, latest) = (F.jobName("each"), F.jobName("capped"), F.jobName("latest"))
        let calls = [each: Calls(), capped: Calls(), latest: Calls()]
        let days = Locked<[DateComponents]>([])
        let jobs = try [(each, CatchUp.each(limit: 31)), (capped, .each(limit: 2)), (latest, .latest)].map { name, catchUp in
            try Job(name: name, schedule: schedule, catchUp: catchUp) { context in
                calls[name]!.record(context.scheduledFor)
                if name == each { days.update { $0.append(context.previousDay) } }
            }
        }
        let worker = try Worker(client: client, jobs: jobs, configuration: F.configuration(each), clock: clock, logger: F.logger)
        let running = RunningWorkers([worker])
        let registered = try await Self.registeredAt(client, job: each)
        let expected = schedule.slots(after: registered, notAfter: try await clock.now(), limit: 31)
        #expect(expected.count >= 3)
        try await F.eventually("the catch-up") {
            let done = try await [each, capped, latest].asyncMap { try await F.runs(client, job: $0).count }
            return done == [expected.count, 2, 1]
        }
        let reads = clock.reads
        try await F.eventually("the worker looked again") { clock.reads > reads + 6 }
        try await running.stop()

        #expect(try await F.runs(client, job: each).map(\.slot) == expected, "each missed night, oldest first")
        #expect(calls[each]!.all == expected)
        #expect(calls[capped]!.all == Array(expected.suffix(2)), "only the latest two")
        #expect(calls[latest]!.all == [expected.last!], "once, for the latest")
        var berlin = Calendar(identifier: .gregorian)
        berlin.timeZone = TimeZone(identifier: "Europe/Berlin")!
        let previousDays = expected.map { berlin.dateComponents([.year, .month, .day], from: $0.addingTimeInterval(-86_400)) }
        #expect(days.value == previousDays, "a date-parameterised job gets the day before its slot")
    }

    @Test func aClockJumpRunsNothingTwiceAndStormsNothing() async throws {
        let client = try await TestDatabase.client()
        let name = F.jobName("jump")
        let start = try await F.databaseNow(client)
        let clock = ManualClock(start)
        let schedule = try Schedule("0 * * * *")
        let job = try Job(name: name, schedule: schedule) { _ in }
        let worker = try Worker(client: client, jobs: [job], configuration: F.configuration(name), clock: clock, logger: F.logger)
        let running = RunningWorkers([worker])

        // Forward five hours: one run, for the latest hour, not five.
        clock.set(start.addingTimeInterval(5 * 3_600))
        let latest = try #require(schedule.latest(after: start, notAfter: try await clock.now()))
        try await F.eventually("the run after the jump") { try await F.runs(client, job: name).count == 1 }
        // Back before everything: nothing is due, the done slot is not run again.
        clock.set(start.addingTimeInterval(-3_600))
        let reads = clock.reads
        try await F.eventually("the worker saw the clock go back") { clock.reads > reads + 5 }
        #expect(try await F.runs(client, job: name).count == 1)
        // Forward past the next hour: its slot runs once.
        clock.set(latest.addingTimeInterval(3_660))
        try await F.eventually("the next hour's run") { try await F.runs(client, job: name).count == 2 }
        try await running.stop()
        #expect(try await F.runs(client, job: name).map(\.slot) == [latest, latest.addingTimeInterval(3_600)])
    }

    @Test func aFailedRunIsRetriedAfterTheDelayAndShownInStatus() async throws {
        let client = try await TestDatabase.client()
        let name = F.jobName("retry")
        let start = try await F.databaseNow(client)
        let clock = ManualClock(start.addingTimeInterval(7_200))
        let attempts = Locked(0)
        struct Flaky: Error, CustomStringConvertible { var description: String { "the rail is down" } }
        let job = try Job(name: name, schedule: try Schedule("0 * * * *")) { _ in
            let attempt = attempts.update { n in
                n += 1
                return n
            }
            if attempt == 1 { throw Flaky() }
        }
        let worker = try Worker(
            client: client, jobs: [job], configuration: F.configuration(name, retry: .milliseconds(300)), clock: clock, logger: F.logger)
        let running = RunningWorkers([worker])
        try await F.eventually("a failure, then a success") {
            try await F.runs(client, job: name).map(\.outcome) == ["failed", "succeeded"]
        }
        try await running.stop()
        let runs = try await F.runs(client, job: name)
        #expect(runs[0].slot == runs[1].slot, "the retry is for the same slot")
        #expect(runs[0].error == "the rail is down")

        let status = try await SchedulerStatus.read(client: client, logger: F.logger).jobs.first { $0.name == name }
        let job1 = try #require(status)
        #expect(job1.doneThrough == runs[1].slot)
        #expect(job1.lastRuns.map(\.outcome) == [.succeeded, .failed], "newest first")
        #expect(job1.holder == nil)
        #expect(job1.schedule == "0 * * * *" && job1.timeZone == "UTC" && job1.catchUp == "latest")
    }

    @Test func aGracefulStopLetsTheRunningJobFinish() async throws {
        let client = try await TestDatabase.client()
        let name = F.jobName("finish")
        let release = Locked(false)
        let job = try Job(name: name, schedule: try Schedule("* * * * * *")) { _ in
            while !release.value { try await Task.sleep(for: .milliseconds(10)) }
        }
        let worker = try Worker(client: client, jobs: [job], configuration: F.configuration(name, grace: .seconds(60)), logger: F.logger)
        let running = RunningWorkers([worker])
        try await F.eventually("a running job") { try await F.runs(client, job: name).map(\.outcome) == ["running"] }
        await running.group.triggerGracefulShutdown()
        release.update { $0 = true }
        try await running.task.value
        #expect(try await F.runs(client, job: name).map(\.outcome) == ["succeeded"], "finished, and nothing new taken")
        #expect(try await F.leaseHolder(client, job: name) == nil)
    }

    @Test func aGracefulStopCancelsAJobThatOutlivesTheGracePeriod() async throws {
        let client = try await TestDatabase.client()
        let name = F.jobName("cancel")
        let job = try Job(name: name, schedule: try Schedule("* * * * * *")) { _ in try await Task.sleep(for: .seconds(3_600)) }
        let worker = try Worker(
            client: client, jobs: [job], configuration: F.configuration(name, grace: .milliseconds(200)), logger: F.logger)
        let running = RunningWorkers([worker])
        try await F.eventually("a running job") { try await F.runs(client, job: name).map(\.outcome) == ["running"] }
        try await running.stop()
        let runs = try await F.runs(client, job: name)
        #expect(runs.map(\.outcome) == ["cancelled"])
        #expect(runs.first?.error == "the shutdown's grace period ended")
        #expect(try await F.leaseHolder(client, job: name) == nil, "released for the next worker")
    }

    /// Another worker took the lease over (this one paused past its expiry): the heartbeat notices,
    /// the body is cancelled, and nothing this worker says is recorded.
    @Test func aWorkerThatLostItsLeaseIsCancelledAndFencedOff() async throws {
        let client = try await TestDatabase.client()
        let name = F.jobName("fenced")
        let cancelled = Locked(false)
        let job = try Job(name: name, schedule: try Schedule("* * * * * *")) { _ in
            do { try await Task.sleep(for: .seconds(3_600)) } catch {
                cancelled.update { $0 = true }
                throw error
            }
        }
        let worker = try Worker(client: client, jobs: [job], configuration: F.configuration(name), logger: F.logger)
        let running = RunningWorkers([worker])
        try await F.eventually("a running job") { try await F.runs(client, job: name).map(\.outcome) == ["running"] }
        // What a takeover does to the lease row: a new generation, another holder, for a long time.
        try await client.query(
            """
            update settle.job_leases set generation = generation + 1, holder = 'thief', expires_at = now() + interval '1 hour'
             where job = \(name)
            """, logger: F.logger)
        try await F.eventually("the body cancelled") { cancelled.value }
        try await running.stop()
        #expect(try await F.runs(client, job: name).map(\.outcome) == ["running"], "the fenced worker recorded nothing")
        #expect(try await F.leaseHolder(client, job: name) == "thief")
    }

    static func registeredAt(_ client: PostgresClient, job: String) async throws -> Date {
        let wait = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < wait {
            for try await at in try await client.query("select registered_at from settle.jobs where name = \(job)", logger: F.logger)
                .decode(Date.self)
            {
                return at
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        for try await at in try await client.query("select registered_at from settle.jobs where name = \(job)", logger: F.logger).decode(
            Date.self)
        {
            return at
        }
        throw SchedulerError(.database, "job \(job) is not registered")
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
