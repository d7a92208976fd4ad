import Foundation

/// How a ``Worker`` holds leases, polls and stops.
public struct WorkerConfiguration: Sendable, Hashable {
    /// This worker's name in leases and the run history; unique per process.
    public var id: String
    /// How long a lease lasts without renewal: a crashed worker's job is taken over this long after
    /// its last heartbeat. Renewed every third of it while the job runs.
    public var leaseDuration: Duration
    /// The longest a worker sleeps before looking at the schedule again (a clock jump or another
    /// worker's progress is noticed within it).
    public var pollInterval: Duration
    /// How long after a failed run the slot is tried again.
    public var retryDelay: Duration
    /// On graceful shutdown, how long a running job may continue before it is cancelled.
    public var shutdownGrace: Duration

    public init(
        id: String = WorkerConfiguration.defaultID(), leaseDuration: Duration = .seconds(30), pollInterval: Duration = .seconds(10),
        retryDelay: Duration = .seconds(60), shutdownGrace: Duration = .seconds(20)
    ) {
        self.id = id
        self.leaseDuration = leaseDuration
        self.pollInterval = pollInterval
        self.retryDelay = retryDelay
        self.shutdownGrace = shutdownGrace
    }

    /// `host:pid`: tells an operator which machine and process hold a lease.
    public static func defaultID() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    func validate() throws(SchedulerError) {
        guard leaseDuration >= .seconds(1) else {
            throw SchedulerError(.invalidConfiguration, "the lease duration must be at least 1 s, got \(leaseDuration)")
        }
        guard pollInterval > .zero, retryDelay >= .zero, shutdownGrace >= .zero else {
            throw SchedulerError(
                .invalidConfiguration, "the poll interval must be positive and the retry delay and grace period not negative")
        }
        guard !id.isEmpty, id.utf8.count <= 200 else {
            throw SchedulerError(.invalidConfiguration, "the worker id must have 1 to 200 bytes")
        }
    }
}
