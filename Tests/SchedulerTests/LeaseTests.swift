import Foundation
import PostgresNIO
import SettleTesting
import Testing

@testable import Scheduler

/// The lease functions of migration v10 on their own: one holder at a time, takeover after expiry
/// by the database's clock, and the generation as a fencing token. (The lease expires by an
/// update here; `WorkerProcessTests` waits for a real expiry after killing a worker.)
@Suite("job leases")
struct LeaseTests {
    typealias F = SchedulerFixture

    @Test func aLeaseIsTakenOverOnlyAfterItExpiresAndFencesTheOldHolder() async throws {
        let client = try await TestDatabase.client()
        let store = LeaseStore(client: client, logger: F.logger)
        let name = F.jobName("lease")
        try await store.register([try Job(name: name, schedule: try Schedule("@hourly")) { _ in }])
        let slot = try await F.databaseNow(client)

        let first = try #require(try await store.claim(name, worker: "a", slot: slot, lease: .seconds(60)))
        #expect(try await store.claim(name, worker: "b", slot: slot, lease: .seconds(60)) == nil, "held")
        #expect(try await store.renew(name, generation: first, lease: .seconds(60)))
        #expect(try await store.state(of: name).isLeased)
        try await F.expireLease(client, job: name)
        #expect(try await !store.state(of: name).isLeased)
        let second = try #require(try await store.claim(name, worker: "b", slot: slot, lease: .seconds(30)))
        #expect(second == first + 1)
        #expect(try await !store.renew(name, generation: first, lease: .seconds(30)), "the old holder cannot renew")
        #expect(
            try await !store.finish(name, generation: first, outcome: .succeeded, error: nil, retryAfter: .zero),
            "nor record a result")
        #expect(try await F.runs(client, job: name).map(\.outcome) == ["abandoned", "running"])

        #expect(try await store.finish(name, generation: second, outcome: .succeeded, error: nil, retryAfter: .zero))
        #expect(try await store.state(of: name).doneThrough == slot)
        #expect(try await store.claim(name, worker: "a", slot: slot, lease: .seconds(1)) == nil, "a done slot is not claimed again")
        #expect(try await store.claim(name, worker: "a", slot: slot.addingTimeInterval(3_600), lease: .seconds(1)) == second + 1)
    }

    @Test func jobDefinitionsAreChecked() throws {
        let schedule = try Schedule("@daily")
        for bad in ["", "Upper", "-lead", "has space", String(repeating: "a", count: 64)] {
            #expect(throws: SchedulerError.self, "\(bad)") { try Job(name: bad, schedule: schedule) { _ in } }
        }
        #expect(throws: SchedulerError.self) { try Job(name: "x", schedule: schedule, catchUp: .each(limit: 0)) { _ in } }
    }
}
