import Logging
import ServiceLifecycle

/// The facilitators' follow-up, for a server that runs them in process (`settle sandbox`): what
/// the worker's `x402-pending` job does for facilitator files. Each pass resolves the `exact`
/// settlements broadcast but never answered (``X402Facilitator/reconcile(olderThan:limit:)``), then
/// follows what was settled until final (``X402Facilitator/follow(limit:)``: a settlement a
/// reorganization dropped is sent again, or its revenue reversed) and the batch-settlement
/// transactions likewise (``X402BatchFacilitator/follow(limit:)``).
public struct X402Follower: Service {
    /// What one pass did.
    public struct Report: Sendable, Hashable {
        public var resolved = 0
        public var settlements = X402Facilitator.FollowReport()
        public var batchTransactions = X402Facilitator.FollowReport()

        public init() {}
    }

    public let facilitators: [X402Facilitator]
    public let batchFacilitators: [X402BatchFacilitator]
    /// Between two passes.
    public let interval: Duration
    /// A broadcast settlement nobody came back for is resolved once idle this long.
    public let unresolvedAfter: Duration
    let logger: Logger

    public init(
        facilitators: [X402Facilitator], batchFacilitators: [X402BatchFacilitator] = [], interval: Duration = .seconds(10),
        unresolvedAfter: Duration = .seconds(30), logger: Logger = Logger(label: "settle.x402.follower")
    ) {
        self.facilitators = facilitators
        self.batchFacilitators = batchFacilitators
        self.interval = interval
        self.unresolvedAfter = unresolvedAfter
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let report = try await pass()
                if report != .init() {
                    logger.info(
                        "x402 followed",
                        metadata: [
                            "resolved": "\(report.resolved)", "settlements": "\(report.settlements)",
                            "batch_transactions": "\(report.batchTransactions)",
                        ])
                }
            } catch {
                logger.warning("x402 follow pass failed; retried next pass", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// One pass over every facilitator.
    public func pass(limit: Int = 500) async throws -> Report {
        var report = Report()
        for facilitator in facilitators {
            try Task.checkCancellation()
            report.resolved += try await facilitator.reconcile(olderThan: unresolvedAfter, limit: limit)
            report.settlements += try await facilitator.follow(limit: limit)
        }
        for facilitator in batchFacilitators {
            try Task.checkCancellation()
            report.batchTransactions += try await facilitator.follow(limit: limit)
        }
        return report
    }
}

extension X402Facilitator.FollowReport {
    static func += (lhs: inout Self, rhs: Self) {
        lhs.final += rhs.final
        lhs.resent += rhs.resent
        lhs.reversed += rhs.reversed
    }
}
