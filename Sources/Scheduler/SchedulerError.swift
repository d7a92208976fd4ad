/// An error of the scheduler: a stable machine ``Code`` plus a human message.
public struct SchedulerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, snake_case machine code.
    public struct Code: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String

        public init(_ rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        /// A cron expression that cannot be parsed, or a field out of its range.
        public static let invalidCron: Code = "invalid_cron"
        /// A time zone name that is not in the IANA database.
        public static let unknownTimeZone: Code = "unknown_time_zone"
        /// A job definition that cannot run: a bad name, two jobs with one name, a zero catch-up limit.
        public static let invalidJob: Code = "invalid_job"
        /// Worker settings out of range (a lease shorter than a second, say).
        public static let invalidConfiguration: Code = "invalid_configuration"
        /// The database failed or answered something the scheduler cannot read.
        public static let database: Code = "database"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
