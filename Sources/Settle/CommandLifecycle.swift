import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// How every long-running command (`serve`, `sandbox`, `cardmock`, `devchain`, `worker`) runs, so that it stops
/// on SIGTERM or SIGINT in every phase, startup included.
///
/// The signals are trapped before the command does anything else, and by this one owner only: a
/// `ServiceGroup` of the command's own that traps them too would miss a signal that arrives before it
/// exists (a sandbox stopped while its database was still starting ran forever). Instead the body runs
/// as the only service of a group that traps nothing, and the first signal triggers that group's
/// graceful shutdown, which every `ServiceGroup` the body starts later inherits, immediately if it
/// starts after the signal. Startup work must therefore run under `cancelWhenGracefulShutdown`.
///
/// The stop is bounded: if the body has not returned `gracePeriod` (`SETTLE_STOP_TIMEOUT` seconds,
/// default 30) after the first signal, the process
/// exits with status 1; a second signal exits at once with 128 + its number, as a shell reports it.
/// An error thrown by work that a signal interrupted (a cancelled wait for the database, say) is the
/// stop itself, not a failure: it is logged and the command returns normally, so that a supervisor
/// sees a clean stop.
enum CommandLifecycle {
    static let signals: [UnixSignal] = [.sigterm, .sigint]

    static var defaultGracePeriod: Duration {
        let seconds = ProcessInfo.processInfo.environment["SETTLE_STOP_TIMEOUT"].flatMap(Double.init)
        guard let seconds, seconds.isFinite, seconds > 0 else { return .seconds(30) }
        return .milliseconds(Int64((seconds * 1_000).rounded()))
    }

    static func run(
        logger: Logger, gracePeriod: Duration = defaultGracePeriod, _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        let trapped = await UnixSignalsSequence(trapping: signals)
        let stopping = StopRequest()
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(
                        service: ClosureService(body), successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .cancelGroup)
                ], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                var received = 0
                for await signal in trapped {
                    received += 1
                    if received > 1 {
                        logger.notice("second signal: exiting at once", metadata: ["signal": "\(signal)"])
                        exit(128 + signal.rawValue)
                    }
                    stopping.flag.store(true, ordering: .sequentiallyConsistent)
                    logger.notice("stopping", metadata: ["signal": "\(signal)", "grace_period": "\(gracePeriod)"])
                    Task.detached {
                        try await Task.sleep(for: gracePeriod)
                        logger.error("did not stop within the grace period: exiting", metadata: ["grace_period": "\(gracePeriod)"])
                        exit(EXIT_FAILURE)
                    }
                    await group.triggerGracefulShutdown()
                }
            }
            defer { tasks.cancelAll() }
            do {
                try await group.run()
            } catch  where stopping.flag.load(ordering: .sequentiallyConsistent) {
                logger.notice("stopped; the work the signal interrupted ended with an error", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Whether a signal asked the command to stop (set by the signal task, read by the command's task).
private final class StopRequest: Sendable {
    let flag = Atomic<Bool>(false)
}
