/// An error of the reconciler: a stable machine ``Code`` and a human message.
public struct ReconciliationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, snake_case machine code.
    public struct Code: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String

        public init(_ rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        /// A date, time zone or profile that cannot be used.
        public static let invalidInput: Code = "invalid_input"
        /// The database failed or refused a statement.
        public static let database: Code = "database"
        /// No run or break with that id.
        public static let notFound: Code = "not_found"
        /// The break is already resolved.
        public static let alreadyResolved: Code = "already_resolved"
        /// The task was cancelled mid-run: the run stays open and the next call resumes it.
        public static let interrupted: Code = "interrupted"
        /// The ledger refused an adjusting transfer.
        public static let ledger: Code = "ledger"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
