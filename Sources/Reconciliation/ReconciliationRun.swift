import Foundation

/// One reconciliation of one rail for one day, as recorded in `settle.recon_runs`. Immutable once
/// finished: a re-run is a new run.
public struct ReconciliationRun: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        /// In progress, or killed mid-way (the next run of the day resumes it).
        case running
        /// Every record was read and matched.
        case complete
        /// The rail could not give its whole statement: never green, retried.
        case incomplete
        /// The database failed during matching.
        case failed
    }

    public var id: Int64
    public var rail: String
    /// `yyyy-MM-dd`.
    public var day: String
    public var timeZone: String
    public var windowStart: Date
    public var cutoff: Date
    public var status: Status
    public var startedAt: Date
    public var finishedAt: Date?
    public var statementRows: Int64
    /// Matched and open items by kind (`matched_exact`, `matched_rule`, `ledger_rows`, each break code).
    public var counts: [String: Int64]
    /// What differs from the previous run of the day: `new` and `gone` break fingerprints.
    public var changes: Changes?
    public var error: String?

    /// Differences from the previous run of the same rail and day.
    public struct Changes: Sendable, Hashable, Codable {
        public var previousRun: Int64?
        public var new: [String]
        public var gone: [String]

        public init(previousRun: Int64?, new: [String], gone: [String]) {
            self.previousRun = previousRun
            self.new = new
            self.gone = gone
        }

        enum CodingKeys: String, CodingKey {
            case new, gone
            case previousRun = "previous_run"
        }
    }

    /// Breaks that make the run red (everything but timing).
    public var errorBreaks: Int64 {
        BreakCode.allCases.filter(\.isError).reduce(0) { $0 + (counts[$1.rawValue] ?? 0) }
    }

    /// Clean: complete and no break other than timing.
    public var isClean: Bool { status == .complete && errorBreaks == 0 }

    enum CodingKeys: String, CodingKey {
        case id, rail, day, status, counts, changes, error, cutoff
        case timeZone = "time_zone"
        case windowStart = "window_start"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case statementRows = "statement_rows"
    }
}
