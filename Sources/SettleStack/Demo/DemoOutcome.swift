import Reconciliation

/// What the demo did and found: the payments per way to pay, the reconciliation runs, each break
/// with its explanation, and whether the breaks are exactly those of the injected faults.
public struct DemoOutcome: Sendable {
    /// A break and the line that explains it.
    public struct Finding: Sendable {
        public var found: ReconciliationBreak
        public var explanation: String
        /// The injected fault it belongs to (nil: unexpected, or timing).
        public var fault: String?
    }

    public var payments: [(scheme: String, count: Int)]
    /// Posted balances of the revenue accounts, in base units of their assets.
    public var balances: [(account: String, posted: String)]
    public var runs: [ReconciliationRun]
    /// Error breaks, each of an injected fault or unexpected.
    public var breaks: [Finding]
    /// Items still inside their SLA: not errors yet.
    public var timing: [Finding]
    /// Injected faults whose break the reconciliation did not find.
    public var missed: [InjectedFault]
    /// The HTML report of each day reconciled (its JSON twin beside it), the last day last.
    public var reportPaths: [String]

    /// Exactly the injected faults' breaks, each found once, and every run complete.
    public var ranAsDesigned: Bool {
        let unexpected = breaks.filter { $0.fault == nil }
        let incomplete = runs.filter { $0.status != .complete }
        return missed.isEmpty && unexpected.isEmpty && incomplete.isEmpty
    }
}
