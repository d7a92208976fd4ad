/// An error in MPP's wire encodings: base64url, canonical JSON and the `Payment` header syntax.
///
/// These are the errors of the encoding layer; the server maps them onto ``PaymentProblem``s
/// (a credential that does not decode is `malformed-credential`). A struct with a nested ``Code``
/// so that codes can be added without breaking clients.
public struct MPPWireError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A machine-readable error category.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidBase64URL = "invalid_base64url"
            case invalidJSON = "invalid_json"
            case notCanonicalizable = "not_canonicalizable"
            case malformedHeader = "malformed_header"
            case duplicateParameter = "duplicate_parameter"
            case missingParameter = "missing_parameter"
            case invalidParameter = "invalid_parameter"
            case oversized = "oversized"
            case invalidSecret = "invalid_secret"
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// Not unpadded base64url: padding, a character outside `A–Z a–z 0–9 - _`, or an impossible length.
        public static let invalidBase64URL = Code(.invalidBase64URL)
        /// Not JSON, or not the JSON object the field requires.
        public static let invalidJSON = Code(.invalidJSON)
        /// A value RFC 8785 cannot print exactly: NaN, an infinity, an integer beyond ±(2^53 − 1).
        public static let notCanonicalizable = Code(.notCanonicalizable)
        /// A header value that is not the `Payment` scheme or breaks the auth-param grammar.
        public static let malformedHeader = Code(.malformedHeader)
        /// An auth-param named twice in one challenge (names compare case-insensitively).
        public static let duplicateParameter = Code(.duplicateParameter)
        /// A required auth-param or JSON member is absent or empty.
        public static let missingParameter = Code(.missingParameter)
        /// A parameter with a value its grammar forbids (a method id, a header name, CR/LF).
        public static let invalidParameter = Code(.invalidParameter)
        /// A value over the size limits pympp and mppx enforce (16 KiB encoded JSON, 64 KiB `Authorization`).
        public static let oversized = Code(.oversized)
        /// No challenge secret, or an empty one.
        public static let invalidSecret = Code(.invalidSecret)

        /// The stable snake_case machine code, for example `invalid_base64url`.
        public var description: String { base.rawValue }
    }

    /// The machine-readable category of the error.
    public var code: Code
    /// A human-readable explanation. Never contains credential data.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
