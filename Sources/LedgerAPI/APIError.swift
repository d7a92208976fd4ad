import HTTPTypes
import Hummingbird
import Ledger

/// An error of the HTTP API: a stable machine ``Code``, the HTTP status and a human message.
///
/// Sent as `application/problem+json` (RFC 9457) whose `type` is `urn:settle:problem:<code>`. A
/// transfer's rejection keeps the ledger's code (``LedgerError/Code``), so a client reads one set of
/// codes whether it posted through the API or reads a batch result.
public struct APIError: Error, Sendable, CustomStringConvertible {
    /// A stable, snake_case machine code.
    public struct Code: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        public static let malformedJSON: Code = "malformed_json"
        public static let unknownField: Code = "unknown_field"
        public static let invalidRequest: Code = "invalid_request"
        public static let invalidQuery: Code = "invalid_query"
        public static let bodyTooLarge: Code = "body_too_large"
        public static let unauthorized: Code = "unauthorized"
        public static let forbiddenScope: Code = "forbidden_scope"
        public static let forbiddenAccount: Code = "forbidden_account"
        public static let notFound: Code = "not_found"
        public static let methodNotAllowed: Code = "method_not_allowed"
        public static let databaseUnavailable: Code = "database_unavailable"
        public static let notReady: Code = "not_ready"
        public static let shuttingDown: Code = "shutting_down"
        public static let internalError: Code = "internal_error"
        /// `settle serve` was given a configuration value it cannot use.
        public static let invalidConfiguration: Code = "invalid_configuration"
    }

    public var code: Code
    public var status: HTTPResponse.Status
    public var message: String
    /// Extra members of the problem document, e.g. `transfer_id`.
    public var extra: [String: String]

    public init(_ code: Code, _ status: HTTPResponse.Status, _ message: String, extra: [String: String] = [:]) {
        self.code = code
        self.status = status
        self.message = message
        self.extra = extra
    }

    /// The HTTP form of a ledger error: rejections of well-formed requests are 422, conflicts with
    /// what exists 409, missing things 404 or 422 (404 only for the resource the path names).
    public init(_ error: LedgerError, extra: [String: String] = [:]) {
        let code = error.code == .database ? Code.databaseUnavailable : Code(error.code.rawValue)
        self.init(code, Self.status(of: error.code), error.message, extra: extra)
    }

    public var description: String { "\(code): \(message)" }

    static func status(of code: LedgerError.Code) -> HTTPResponse.Status {
        switch code {
        case .malformedID, .invalidAmount, .invalidCursor, .invalidMetadata, .invalidTimeout, .invalidRailReference,
            .amountMustBePositive, .invalidAsset, .invalidAccount, .invalidInput,
            // The document's `minItems: 2`: a request of one posting is malformed.
            .tooFewPostings:
            .badRequest
        // A condition on an account the transfer does not post to, or two on one account: the
        // request has the documented form, its parts disagree (not expressible in JSON Schema).
        case .invalidCondition: .unprocessableContent
        case .existsWithDifferentFields, .railReferenceExists, .externalIDExists, .pendingTransferAlreadyPosted,
            .pendingTransferAlreadyVoided, .transferAlreadyReversed, .versionMismatch, .balanceMismatch:
            .conflict
        case .forbiddenAccount, .reservedNamespace: .forbidden
        case .cursorExpired: .gone
        case .database: .serviceUnavailable
        case .shuttingDown: .serviceUnavailable
        case .schemaOutdated: .serviceUnavailable
        default: .unprocessableContent
        }
    }
}
