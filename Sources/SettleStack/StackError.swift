/// Why a ``Stack``, or an agent or the demo driving it, could not go on.
public struct StackError: Error, CustomStringConvertible, Sendable {
    /// A stable machine code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        /// A part (chain, mock, API, merchant) did not start listening.
        public static let notStarted = Code(rawValue: "not_started")
        /// The route's 402 carries no offer the agent can pay.
        public static let noOffer = Code(rawValue: "no_offer")
        /// The route answered the payment with something other than 200.
        public static let refused = Code(rawValue: "refused")
        /// The card processor mock refused a call made to it.
        public static let processor = Code(rawValue: "processor")
        /// The demo waited for a condition (a receipt, confirmations) longer than it allows.
        public static let timedOut = Code(rawValue: "timed_out")
        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
