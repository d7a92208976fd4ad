import Logging
import RailKit
import ServiceLifecycle

/// Pulls a rail every second (a chain's blocks, the card processor's events), so payments reach
/// the ledger by themselves.
public struct RailWatcher: Service {
    let rail: any Rail
    let booker: RailBooker
    let logger: Logger

    public init(rail: any Rail, booker: RailBooker, logger: Logger) {
        self.rail = rail
        self.booker = booker
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let report = try await booker.sync(rail, pageSize: 500)
                if report.created > 0 { logger.notice("chain rail", metadata: ["report": "\(report)"]) }
            } catch {
                logger.warning("chain rail sync failed", metadata: ["error": "\(error)"])
            }
            // A shutdown ends the pause at once rather than after it.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }
}
