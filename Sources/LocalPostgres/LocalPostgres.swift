import Foundation
import Logging
import Synchronization

/// Manages Settle's embedded PostgreSQL cluster, used when `DATABASE_URL` is not set.
///
/// The cluster lives in a directory Settle owns (see ``Configuration/default(environment:)``) and is
/// run with the system's PostgreSQL programs (`initdb`, `pg_ctl`, `postgres`, `psql`; Debian's
/// `postgresql` package puts them in `/usr/lib/postgresql/<version>/bin`). It listens on 127.0.0.1 only,
/// authenticates with SCRAM-SHA-256 and a random password kept in the cluster directory, and is tuned
/// for durability (`fsync`, `full_page_writes` and `synchronous_commit` on, data checksums).
///
/// PostgreSQL refuses to run as root. When the current process is root, the cluster belongs to and
/// runs as an unprivileged user (the owner of an existing cluster, else `postgres`, else a system user
/// `settle` created on demand), switched to with `runuser -u USER --` (or `setpriv`).
///
/// Every operation is safe to call from several tasks or processes at once: creating, starting and
/// stopping the cluster and creating databases are serialised with an `flock` lock file in the cluster
/// directory. The blocking work (subprocesses, file locks) runs on a dedicated thread per call, never
/// on the Swift concurrency cooperative pool.
///
/// ```swift
/// let postgres = LocalPostgres()
/// let url = try await postgres.start()   // "postgres://settle:…@127.0.0.1:55432/settle"
/// ```
public struct LocalPostgres: Sendable {
    /// Where the cluster lives and which port it uses.
    public let configuration: Configuration
    /// The logger for progress (`info`) and diagnostics (`debug`, `warning`).
    public let logger: Logger

    /// Creates a manager; nothing happens until an operation is called.
    /// - Parameters:
    ///   - configuration: The cluster directory and port, from the environment by default.
    ///   - logger: The logger to report progress to.
    public init(
        configuration: Configuration = .default(),
        logger: Logger = Logger(label: "settle.localpostgres")
    ) {
        self.configuration = configuration
        self.logger = logger
    }

    private var controller: ClusterController {
        ClusterController(configuration: configuration, logger: logger)
    }

    /// Makes sure the cluster exists and runs, and returns the URL of the `settle` database.
    ///
    /// Idempotent: it finds the PostgreSQL binaries; runs `initdb` if the cluster does not exist yet
    /// (superuser role `settle` with a random password stored with mode 0600 in the cluster directory,
    /// SCRAM-SHA-256 authentication, UTF8, locale C); writes Settle's settings at the end of
    /// `postgresql.conf`; starts the server with `pg_ctl start -w` unless it is already running
    /// (listening on 127.0.0.1 at ``Configuration/port``, Unix-domain socket in the cluster directory,
    /// log in `postgres.log`); and creates the database `settle` if it is missing.
    ///
    /// - Returns: A URL such as `postgres://settle:PASSWORD@127.0.0.1:55432/settle`. If the server was
    ///   already running on another port (after a change of `SETTLE_PG_PORT`), the URL names the port
    ///   it actually listens on; the new port takes effect at the next start.
    /// - Throws: ``LocalPostgresError`` with code ``LocalPostgresError/Code/binariesNotFound``,
    ///   ``LocalPostgresError/Code/initdbFailed``, ``LocalPostgresError/Code/startFailed``,
    ///   ``LocalPostgresError/Code/portInUse`` (the port is taken by another program: set
    ///   `SETTLE_PG_PORT`), ``LocalPostgresError/Code/permissionDenied`` or
    ///   ``LocalPostgresError/Code/commandFailed``.
    public func start() async throws(LocalPostgresError) -> String {
        let controller = self.controller
        return try await Self.offload { () throws(LocalPostgresError) -> String in try controller.start() }
    }

    /// Stops the server with `pg_ctl stop -m fast` (open sessions are disconnected, committed data is
    /// kept). Does nothing if the cluster does not exist or is not running.
    /// - Throws: ``LocalPostgresError`` with code ``LocalPostgresError/Code/stopFailed``,
    ///   ``LocalPostgresError/Code/binariesNotFound`` or ``LocalPostgresError/Code/permissionDenied``.
    public func stop() async throws(LocalPostgresError) {
        let controller = self.controller
        try await Self.offload { () throws(LocalPostgresError) in try controller.stop() }
    }

    /// Reports whether the cluster exists and runs, without changing anything.
    /// - Throws: ``LocalPostgresError`` with code ``LocalPostgresError/Code/permissionDenied`` when the
    ///   cluster directory cannot be read.
    public func status() async throws(LocalPostgresError) -> Status {
        let controller = self.controller
        return try await Self.offload { () throws(LocalPostgresError) -> Status in try controller.status() }
    }

    /// Creates (if missing) another database in the cluster, for example one per test suite, and
    /// returns its URL.
    ///
    /// The cluster is created and started first if needed, exactly as ``start()`` does. The new
    /// database is owned by the role `settle` and copied from `template0` (UTF8, locale C).
    /// - Parameter name: 1 to 63 ASCII letters, digits, `_` or `-`.
    /// - Returns: A URL such as `postgres://settle:PASSWORD@127.0.0.1:55432/NAME`.
    /// - Throws: ``LocalPostgresError`` with code ``LocalPostgresError/Code/invalidArgument`` for a bad
    ///   name, or any error of ``start()``.
    public func createDatabase(named name: String) async throws(LocalPostgresError) -> String {
        let controller = self.controller
        return try await Self.offload { () throws(LocalPostgresError) -> String in
            try controller.createDatabase(named: name)
        }
    }

    /// Runs blocking `work` on a new thread and suspends (without blocking a cooperative-pool thread)
    /// until it finishes, or until the task is cancelled.
    ///
    /// A cancelled caller returns at once with ``LocalPostgresError/Code/cancelled`` and the thread
    /// finishes on its own (its result is dropped): a blocking `flock` or `pg_ctl` cannot be
    /// interrupted, and a command being stopped must not wait for them. What the thread leaves behind
    /// is consistent either way: every step of the controller is done under the cluster lock.
    private static func offload<Value: Sendable>(
        _ work: @escaping @Sendable () throws(LocalPostgresError) -> Value
    ) async throws(LocalPostgresError) -> Value {
        let outcome = Mutex<(CheckedContinuation<Result<Value, LocalPostgresError>, Never>?, cancelled: Bool)>((nil, false))
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, LocalPostgresError>, Never>) in
                let cancelledAlready = outcome.withLock { state in
                    state.0 = continuation
                    return state.cancelled
                }
                if cancelledAlready {
                    outcome.withLock { $0.0 = nil }
                    continuation.resume(returning: .failure(Self.cancellation))
                    return
                }
                let thread = Thread {
                    let result = Result { () throws(LocalPostgresError) -> Value in try work() }
                    outcome.withLock { state in
                        defer { state.0 = nil }
                        return state.0
                    }?.resume(returning: result)
                }
                thread.name = "settle.localpostgres"
                thread.start()
            }
        } onCancel: {
            outcome.withLock { state in
                state.cancelled = true
                defer { state.0 = nil }
                return state.0
            }?.resume(returning: .failure(Self.cancellation))
        }
        return try result.get()
    }

    private static let cancellation = LocalPostgresError(
        code: .cancelled, message: "cancelled while waiting for the cluster (it finishes the step under way by itself)")
}
