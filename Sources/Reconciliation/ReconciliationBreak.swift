import Foundation
import Ledger

/// One difference found by a run, with both sides' rows as evidence.
public struct ReconciliationBreak: Sendable, Hashable, Codable {
    /// How a break was settled.
    public struct Resolution: Sendable, Hashable, Codable {
        public enum Kind: String, Sendable, Hashable, Codable {
            case auto, transfer, explanation
        }
        public var kind: Kind
        public var transferID: String?
        public var note: String
        public var actor: String
        public var resolvedAt: Date

        enum CodingKeys: String, CodingKey {
            case kind, note, actor
            case transferID = "transfer_id"
            case resolvedAt = "resolved_at"
        }
    }

    public var id: Int64
    public var runID: Int64
    public var rail: String
    public var day: String
    public var code: BreakCode
    /// The same difference across runs: `code:asset:reference`.
    public var fingerprint: String
    public var reference: String?
    public var asset: String?
    public var railAmount: String?
    public var ledgerAmount: String?
    public var occurredAt: Date?
    /// The day of the first run that reported this fingerprint.
    public var firstSeen: String
    /// Days from `firstSeen` to the run's day.
    public var ageDays: Int
    /// `rail` (the statement rows), `ledger` (the transfers), and the check's own figures.
    public var evidence: JSONValue
    public var resolution: Resolution?

    enum CodingKeys: String, CodingKey {
        case id, rail, day, code, fingerprint, reference, asset, evidence, resolution
        case runID = "run_id"
        case railAmount = "rail_amount"
        case ledgerAmount = "ledger_amount"
        case occurredAt = "occurred_at"
        case firstSeen = "first_seen"
        case ageDays = "age_days"
    }
}
