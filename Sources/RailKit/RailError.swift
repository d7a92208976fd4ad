/// An error of a rail or of the machinery that books its events: a stable machine ``Code`` plus a
/// human message.
///
/// Codes are stable once published; new ones may be added, so switch over them with a default.
public struct RailError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, snake_case machine code.
    public struct Code: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String

        public init(_ rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        // Configuration and registry.
        public static let unknownRail: Code = "unknown_rail"
        public static let unknownKind: Code = "unknown_rail_kind"
        public static let invalidConfiguration: Code = "invalid_rail_configuration"
        public static let unsupported: Code = "unsupported"

        // Fund flows and events.
        public static let invalidFundFlow: Code = "invalid_fund_flow"
        public static let unknownTransition: Code = "unknown_transition"
        public static let missingAmount: Code = "missing_amount"
        public static let missingBinding: Code = "missing_binding"
        public static let invalidEvent: Code = "invalid_event"
        /// The event resolves a hold that is not booked yet: it arrived before its parent and is
        /// taken again later (a pull leaves its cursor, a webhook gets a retryable status).
        public static let outOfOrder: Code = "out_of_order"
        /// The ledger refused the event's transfer; the event is retried, never skipped, until the
        /// cause (e.g. its id taken by another transfer) is fixed.
        public static let rejected: Code = "rejected"

        // Webhooks.
        public static let invalidSignature: Code = "invalid_signature"
        public static let staleTimestamp: Code = "stale_timestamp"

        // Talking to the rail.
        public static let transport: Code = "rail_transport"
        public static let railAPI: Code = "rail_api_error"
        public static let timeout: Code = "rail_timeout"
        public static let protocolViolation: Code = "rail_protocol_violation"
        public static let crashed: Code = "rail_crashed"
        /// The out-of-process rail speaks a protocol version this Settle does not: it was stopped.
        public static let protocolVersion: Code = "rail_protocol_version"
        /// The rail was shut down; it takes no more calls.
        public static let shutDown: Code = "rail_shut_down"

        // The ledger underneath.
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
