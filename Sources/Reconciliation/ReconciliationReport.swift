import Foundation
import Ledger

/// A day's reconciliation across rails: the latest finished run of each rail and its breaks, as
/// `settle report` writes it (JSON beside the HTML page).
public struct ReconciliationReport: Sendable, Codable {
    /// One rail's line of the chart.
    public struct RailSummary: Sendable, Codable {
        public var rail: String
        public var run: ReconciliationRun
        public var matched: Int64
        public var timing: Int64
        public var breaks: Int64
    }

    public var day: String
    public var generatedAt: Date
    public var rails: [RailSummary]
    public var breaks: [ReconciliationBreak]

    enum CodingKeys: String, CodingKey {
        case day, rails, breaks
        case generatedAt = "generated_at"
    }

    /// Breaks of the balance-drift check.
    public var drift: [ReconciliationBreak] { breaks.filter { $0.code == .drift } }

    /// Clearing accounts not at zero at the cut-off (overdue, or inside their SLA).
    public var clearing: [ReconciliationBreak] {
        breaks.filter { b in
            guard b.code == .clearingNotZero || b.code == .timing, case .object(let evidence) = b.evidence else { return false }
            return evidence["account"] != nil
        }
    }

    /// Whether every rail's run is complete with no break other than timing.
    public var isClean: Bool { rails.allSatisfy { $0.run.isClean } && !rails.isEmpty }

    /// Reads the latest finished run of each rail (of `only` when given) for `day` and their breaks.
    public static func load(_ store: ReconciliationStore, day: String, only: Set<String>? = nil, now: Date = Date())
        async throws(ReconciliationError) -> ReconciliationReport
    {
        var rails: [RailSummary] = []
        var breaks: [ReconciliationBreak] = []
        for run in try await store.latestRuns(day: day) where only?.contains(run.rail) ?? true {
            let timing = run.counts[BreakCode.timing.rawValue] ?? 0
            rails.append(
                RailSummary(rail: run.rail, run: run, matched: run.counts["matched"] ?? 0, timing: timing, breaks: run.errorBreaks))
            breaks += try await store.breaks(run: run.id)
        }
        return ReconciliationReport(day: day, generatedAt: now, rails: rails, breaks: breaks)
    }

    /// The report as pretty JSON.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }
}
