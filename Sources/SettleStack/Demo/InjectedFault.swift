import Reconciliation

/// A fault the demo injects, and the break the reconciliation must find for it.
public struct InjectedFault: Sendable {
    /// Its kind as the demo announces it: `reorg`, `lost webhook`, `late payout`, `unbanked payout`.
    public var name: String
    public var rail: String
    public var code: BreakCode
    /// What the break's reference contains (a transaction hash, a balance transaction id, a payout
    /// id, an asset).
    public var reference: String
    /// One line for people: what happened and why the books disagree.
    public var explanation: String

    public init(name: String, rail: String, code: BreakCode, reference: String, explanation: String) {
        self.name = name
        self.rail = rail
        self.code = code
        self.reference = reference
        self.explanation = explanation
    }

    /// Whether `found` is the break this fault must cause.
    public func matches(_ found: ReconciliationBreak) -> Bool {
        found.rail == rail && found.code == code && (found.reference ?? "").lowercased().contains(reference.lowercased())
    }
}
