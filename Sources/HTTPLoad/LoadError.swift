/// An error that ends a load run before it produced a report.
///
/// Problems of single requests (a closed connection, a failed check) do not throw: they are counted in
/// the ``LoadReport``. Only a run that cannot start throws. The error is a struct with a nested ``Code``
/// (instead of a public enum) so that codes can be added without breaking clients.
public struct LoadError: Error, CustomStringConvertible, Sendable {
    /// A machine-readable error category.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidArgument = "invalid_argument"
            case addressResolutionFailed = "address_resolution_failed"
            case connectionFailed = "connection_failed"
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// A parameter is out of range (for example zero connections or a negative request count).
        public static let invalidArgument = Code(.invalidArgument)
        /// The host name could not be resolved to an address.
        public static let addressResolutionFailed = Code(.addressResolutionFailed)
        /// Not a single connection to the server could be opened.
        public static let connectionFailed = Code(.connectionFailed)

        /// The stable snake_case machine code, for example `connection_failed`.
        public var description: String { base.rawValue }
    }

    /// The machine-readable category of the error.
    public var code: Code
    /// A human-readable explanation; not stable.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: The machine-readable category.
    ///   - message: The human-readable explanation.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
