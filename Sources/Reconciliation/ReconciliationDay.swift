import Foundation

/// One calendar day in a time zone: the window `[start, cutoff)` a run reconciles.
public struct ReconciliationDay: Sendable, Hashable, CustomStringConvertible {
    /// `yyyy-MM-dd`.
    public let date: String
    public let timeZone: TimeZone
    public let start: Date
    /// The end of the day in `timeZone`: the cut-off of balances and the window's open end.
    public let cutoff: Date

    /// Parses `yyyy-MM-dd` in `timeZone` (default UTC).
    public init(_ date: String, timeZone identifier: String = "UTC") throws(ReconciliationError) {
        guard let zone = TimeZone(identifier: identifier) else {
            throw ReconciliationError(.invalidInput, "unknown time zone \(identifier.debugDescription)")
        }
        let parts = date.split(separator: "-").compactMap { Int($0) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        guard parts.count == 3, date.count == 10,
            let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
            case let c = calendar.dateComponents([.year, .month, .day], from: start),
            c.year == parts[0], c.month == parts[1], c.day == parts[2],
            let cutoff = calendar.date(byAdding: .day, value: 1, to: start)
        else { throw ReconciliationError(.invalidInput, "date must be yyyy-MM-dd, got \(date.debugDescription)") }
        self.date = date
        self.timeZone = zone
        self.start = start
        self.cutoff = cutoff
    }

    /// The day before this one.
    public var previous: ReconciliationDay {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let day = calendar.date(byAdding: .day, value: -1, to: start)!
        let c = calendar.dateComponents([.year, .month, .day], from: day)
        // Components of a valid date always format back to a valid date.
        return try! ReconciliationDay(
            String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!), timeZone: timeZone.identifier)
    }

    /// The day in `timeZone` that contains `instant`.
    public init(containing instant: Date, timeZone identifier: String = "UTC") throws(ReconciliationError) {
        guard let zone = TimeZone(identifier: identifier) else {
            throw ReconciliationError(.invalidInput, "unknown time zone \(identifier.debugDescription)")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day], from: instant)
        try self.init(String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0), timeZone: identifier)
    }

    /// The days in `timeZone` that `[start, end]` touches, in order: what a process that ran over
    /// that interval (across midnight or not) must reconcile.
    public static func days(from start: Date, to end: Date, timeZone identifier: String = "UTC") throws(ReconciliationError)
        -> [ReconciliationDay]
    {
        var day = try ReconciliationDay(containing: min(start, end), timeZone: identifier)
        var days = [day]
        while day.cutoff <= max(start, end) {
            day = try ReconciliationDay(containing: day.cutoff, timeZone: identifier)
            days.append(day)
        }
        return days
    }

    public var description: String { "\(date) (\(timeZone.identifier))" }
}
