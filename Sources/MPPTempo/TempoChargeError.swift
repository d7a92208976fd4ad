/// A `tempo/charge` offer that cannot be made.
public struct TempoChargeError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidTerms = "invalid_terms"
            case unknownCurrency = "unknown_currency"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The route's price breaks the method's rules (splits, sponsoring).
        public static let invalidTerms = Code(.invalidTerms)
        /// The currency is not one the method is configured to accept.
        public static let unknownCurrency = Code(.unknownCurrency)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
