import Logging
import ServiceLifecycle
import SettleTesting

/// Runs the services in a group for the body, then shuts the group down gracefully.
func withServices<T: Sendable>(
    _ services: [any Service], _ body: @Sendable () async throws -> T
) async throws -> T {
    let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: TestDatabase.logger))
    return try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask {
            try await group.run()
            return nil
        }
        let result = try await body()
        await group.triggerGracefulShutdown()
        while let next = try await tasks.next() {
            if next != nil { break }
        }
        return result
    }
}
