/// The kinds of difference a reconciliation run reports. The set is closed: each has a meaning
/// the report, the alerts and the auto-resolution rules rely on.
public enum BreakCode: String, Sendable, Hashable, Codable, CaseIterable {
    /// A rail record with no ledger transfer, older than the rail's SLA.
    case missingInLedger = "missing_in_ledger"
    /// A ledger transfer of the rail with no rail record, older than the rail's SLA.
    case missingInRail = "missing_in_rail"
    /// The same reference, different amounts.
    case amountMismatch = "amount_mismatch"
    /// The same reference and amount, a different fee.
    case feeMismatch = "fee_mismatch"
    /// The rail lists the same reference more than once.
    case duplicate
    /// An unmatched item still inside the rail's SLA: re-checked by the next run, not an error yet.
    case timing
    /// A rail record in an asset the rail is not configured for.
    case unknownAsset = "unknown_asset"
    /// A rail record that cannot be reconciled as given (no reference, a zero amount, outside the day).
    case malformedRecord = "malformed_record"
    /// A group (a payout and the balance transactions it settles) whose parts do not sum to it.
    case groupMismatch = "group_mismatch"
    /// The rail's own balance differs from the ledger's at the cut-off.
    case drift
    /// A clearing account holds money older than the rail's SLA at the cut-off.
    case clearingNotZero = "clearing_not_zero"
    /// Money this rail sent on to another rail (a payout to the bank) never arrived there within
    /// the rule's SLA.
    case counterpartMissing = "counterpart_missing"
    /// It arrived there with another amount.
    case counterpartMismatch = "counterpart_mismatch"

    /// Whether the break makes a run red; timing differences do not until their SLA passes.
    public var isError: Bool { self != .timing }
}
