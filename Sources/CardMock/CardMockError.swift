/// A failure of the mock itself (its data directory, its journal), as opposed to an API error a
/// client caused, which is a ``StripeError``.
public struct CardMockError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, snake_case machine code.
    public struct Code: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        /// The data directory cannot be created, opened or locked.
        public static let dataDirectory: Code = "data_directory"
        /// Another process holds the data directory.
        public static let dataDirectoryLocked: Code = "data_directory_locked"
        /// A journal line other than a torn last line does not decode.
        public static let corruptJournal: Code = "corrupt_journal"
        /// Writing or syncing the journal failed; the mutation is not durable.
        public static let journalWrite: Code = "journal_write"
        /// The journal is closed: the server is shutting down.
        public static let journalClosed: Code = "journal_closed"
        /// A configuration value cannot be used.
        public static let invalidConfiguration: Code = "invalid_configuration"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
