/// An error raised by ``LocalPostgres``.
///
/// The error is a struct with a nested ``Code`` (instead of a public enum) so that new codes can be added
/// without breaking clients. ``code`` is meant for programs (its ``Code/description`` is a stable
/// snake_case string such as `port_in_use`); ``message`` is meant for people: it names the failing
/// command and carries the tail of its standard error or of the server log.
public struct LocalPostgresError: Error, CustomStringConvertible, Sendable {
    /// A machine-readable error category.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case binariesNotFound = "binaries_not_found"
            case initdbFailed = "initdb_failed"
            case startFailed = "start_failed"
            case stopFailed = "stop_failed"
            case commandFailed = "command_failed"
            case permissionDenied = "permission_denied"
            case portInUse = "port_in_use"
            case invalidArgument = "invalid_argument"
            case cancelled = "cancelled"
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The PostgreSQL server programs (`initdb`, `pg_ctl`, `postgres`) or `psql` could not be found.
        public static let binariesNotFound = Code(.binariesNotFound)
        /// `initdb` failed to create the cluster.
        public static let initdbFailed = Code(.initdbFailed)
        /// `pg_ctl start` failed, or the server did not become ready in time.
        public static let startFailed = Code(.startFailed)
        /// `pg_ctl stop` failed.
        public static let stopFailed = Code(.stopFailed)
        /// Another command (for example `psql`, `useradd`) or a file operation failed.
        public static let commandFailed = Code(.commandFailed)
        /// A file or directory could not be created, read or handed to the cluster's OS user,
        /// or the process lacks the privileges to switch to that user.
        public static let permissionDenied = Code(.permissionDenied)
        /// The configured TCP port is taken by a program that is not this cluster.
        public static let portInUse = Code(.portInUse)
        /// An argument or configuration value is invalid (for example a database name or a port number).
        public static let invalidArgument = Code(.invalidArgument)
        /// The calling task was cancelled (a command being stopped) before the cluster step finished.
        public static let cancelled = Code(.cancelled)

        /// The stable snake_case machine code, for example `port_in_use`.
        public var description: String { base.rawValue }
    }

    /// The machine-readable category of the error.
    public var code: Code
    /// A human-readable explanation, including the failing command and the tail of its output or log.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: The machine-readable category.
    ///   - message: The human-readable explanation.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// `"<code>: <message>"`, for example `"port_in_use: port 55432 on 127.0.0.1 is already in use …"`.
    public var description: String { "\(code): \(message)" }
}
