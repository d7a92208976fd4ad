import Foundation

/// A condition on an account's balance (on its normal side) that fires a
/// ``LedgerEvent/Kind/balanceMonitorFired`` event each time a transfer makes it true after the balance
/// before left it false: once per crossing, decided in the transaction that writes the entry.
///
/// With a ``rearm`` level (hysteresis, decision 0043), a monitor that fired fires again only after
/// a transfer left the balance at or past that level, on the far side of the threshold: a balance
/// oscillating around the threshold fires once, not on every crossing.
public struct BalanceMonitor: Sendable, Hashable {
    /// Which balance the condition reads.
    public enum Measure: String, Sendable, Hashable, CaseIterable {
        /// Posted less pending outflows (``Balance/available``).
        case available
        /// Posted only (``Balance/posted``).
        case posted
    }

    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case lt, lte, gt, gte

        public var symbol: String {
            switch self {
            case .lt: "<"
            case .lte: "<="
            case .gt: ">"
            case .gte: ">="
            }
        }
    }

    /// One crossing.
    public struct Firing: Sendable, Hashable {
        public var monitor: String
        public var account: AccountID
        public var measure: Measure
        public var `operator`: Operator
        public var threshold: SignedAmount
        /// The balance after the entry that crossed.
        public var value: SignedAmount
        /// The entry that crossed: the account's version and its transfer.
        public var accountVersion: Int64
        public var transfer: TransferID
    }

    /// Chosen by the client: the same id with the same condition is answered as existing.
    public var id: String
    public var account: AccountID
    public var measure: Measure
    public var `operator`: Operator
    public var threshold: SignedAmount
    /// After firing, the monitor is disarmed until a transfer leaves the balance at or past this
    /// level: at least it for `lt`/`lte` (so above the threshold), at most it for `gt`/`gte`
    /// (below the threshold). Nil: it fires on every crossing.
    public var rearm: SignedAmount?
    /// Set by the ledger for a monitor with a ``rearm`` level: whether it fires on the next
    /// crossing (false from a firing until the balance is back past the re-arm level). Nil for a
    /// monitor without one (it is always armed) and in a request.
    public var armed: Bool?
    public var createdAt: Date?

    public init(
        id: String, account: AccountID, measure: Measure, operator: Operator, threshold: SignedAmount, rearm: SignedAmount? = nil,
        armed: Bool? = nil, createdAt: Date? = nil
    ) {
        self.id = id
        self.account = account
        self.measure = measure
        self.operator = `operator`
        self.threshold = threshold
        self.rearm = rearm
        self.armed = armed
        self.createdAt = createdAt
    }

    /// Checks that the re-arm level, if any, is on the far side of the threshold.
    public func validateRearm() throws(LedgerError) {
        guard let rearm else { return }
        switch self.operator {
        case .lt, .lte:
            guard rearm > threshold else {
                throw LedgerError(
                    .invalidRearm, "monitor \(id): the re-arm level of a \(self.operator.rawValue) monitor must be above its threshold")
            }
        case .gt, .gte:
            guard rearm < threshold else {
                throw LedgerError(
                    .invalidRearm, "monitor \(id): the re-arm level of a \(self.operator.rawValue) monitor must be below its threshold")
            }
        }
    }

    /// Ids as account ids are: a letter or digit, then letters, digits and `._:/@+-`, 1 to 128 bytes.
    public static func isValidID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...128).contains(bytes.count) else { return false }
        func alnum(_ c: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
        }
        return alnum(bytes[0]) && bytes.dropFirst().allSatisfy { alnum($0) || Array("._:/@+-".utf8).contains($0) }
    }
}
