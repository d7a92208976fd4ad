/// A cron expression: which wall-clock times a job fires at.
///
/// Five fields, as crontab(5) writes them: minute (0–59), hour (0–23), day of month (1–31), month
/// (1–12 or `jan`–`dec`), day of week (0–7, 0 and 7 both Sunday, or `sun`–`sat`). Each field is `*`,
/// a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a` to the field's end), or a comma
/// list of those. When both day fields are restricted a day matches if either does (Vixie cron's
/// rule); when one of them starts with `*` both must match. The macros `@yearly` (`@annually`),
/// `@monthly`, `@weekly`, `@daily` (`@midnight`) and `@hourly` stand for their usual expansions.
///
/// A sixth, leading field of seconds (0–59) is accepted as an extension, so that tests can run a
/// schedule every few seconds; five-field expressions fire at second 0.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    public let text: String
    let seconds: UInt64
    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    let daysOfWeek: UInt64
    let dayOfMonthStar: Bool
    let dayOfWeekStar: Bool
    /// Whether the job runs at particular times, in cronie's sense: neither its minute nor its hour
    /// field starts with `*` (so `@hourly` and `*/15 …` are not). Only such jobs get cronie's
    /// daylight-saving treatment (see ``Schedule``).
    public let isFixedTime: Bool

    public var description: String { text }

    public init(_ text: String) throws(SchedulerError) {
        self.text = text
        let trimmed = text.split(whereSeparator: \.isWhitespace).map(String.init)
        var fields = trimmed
        if fields.count == 1, let macro = Self.macros[fields[0].lowercased()] {
            fields = macro.split(separator: " ").map(String.init)
        }
        guard fields.count == 5 || fields.count == 6 else {
            throw SchedulerError(.invalidCron, "a cron expression has 5 fields (or 6 with seconds first), got \(text.debugDescription)")
        }
        if fields.count == 5 { fields.insert("0", at: 0) }
        seconds = try Self.parse(fields[0], "second", 0...59, names: [:], in: text)
        minutes = try Self.parse(fields[1], "minute", 0...59, names: [:], in: text)
        hours = try Self.parse(fields[2], "hour", 0...23, names: [:], in: text)
        daysOfMonth = try Self.parse(fields[3], "day of month", 1...31, names: [:], in: text)
        months = try Self.parse(fields[4], "month", 1...12, names: Self.monthNames, in: text)
        var weekdays = try Self.parse(fields[5], "day of week", 0...7, names: Self.dayNames, in: text)
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & ~(1 << 7) }
        daysOfWeek = weekdays
        dayOfMonthStar = fields[3].hasPrefix("*")
        dayOfWeekStar = fields[5].hasPrefix("*")
        isFixedTime = !fields[1].hasPrefix("*") && !fields[2].hasPrefix("*")
    }

    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames: [String: Int] = [
        "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
    ]
    static let dayNames: [String: Int] = ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]

    /// A field as a bit set of its values.
    private static func parse(
        _ field: String, _ name: String, _ range: ClosedRange<Int>, names: [String: Int], in text: String
    ) throws(SchedulerError) -> UInt64 {
        func fail(_ why: String) -> SchedulerError {
            SchedulerError(.invalidCron, "\(name) field \(field.debugDescription) of \(text.debugDescription): \(why)")
        }
        func value(_ s: Substring) throws(SchedulerError) -> Int {
            if let n = Int(s) {
                guard range.contains(n) else { throw fail("\(n) is outside \(range.lowerBound)-\(range.upperBound)") }
                return n
            }
            guard let n = names[s.lowercased()] else { throw fail("\(s.debugDescription) is not a value") }
            return n
        }
        var bits: UInt64 = 0
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0 else { throw fail("the step must be a positive integer") }
                step = s
            }
            let base = pieces[0]
            let low: Int
            let high: Int
            if base == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                (low, high) = (try value(base[..<dash]), try value(base[base.index(after: dash)...]))
                guard low <= high else { throw fail("the range \(base) runs backwards") }
            } else {
                low = try value(base)
                high = pieces.count == 2 ? range.upperBound : low
            }
            for v in stride(from: low, through: high, by: step) { bits |= 1 << UInt64(v) }
        }
        return bits
    }

    private func dayMatches(_ t: CivilTime) -> Bool {
        let dom = daysOfMonth & (1 << UInt64(t.day)) != 0
        let dow = daysOfWeek & (1 << UInt64(t.weekday)) != 0
        return dayOfMonthStar || dayOfWeekStar ? dom && dow : dom || dow
    }

    /// The first naive second in `lower..<upper` (see ``CivilTime``) that the expression matches.
    func firstMatch(from lower: Int64, before upper: Int64) -> Int64? {
        var n = lower
        while n < upper {
            let t = CivilTime(naive: n)
            let dayStart = n - Int64(t.hour * 3_600 + t.minute * 60 + t.second)
            if months & (1 << UInt64(t.month)) == 0 {
                let (y, m) = t.month == 12 ? (t.year + 1, 1) : (t.year, t.month + 1)
                n = CivilTime.days(year: y, month: m, day: 1) * 86_400
            } else if !dayMatches(t) {
                n = dayStart + 86_400
            } else if hours & (1 << UInt64(t.hour)) == 0 {
                n = dayStart + Int64(t.hour + 1) * 3_600
            } else if minutes & (1 << UInt64(t.minute)) == 0 {
                n = dayStart + Int64(t.hour * 3_600 + (t.minute + 1) * 60)
            } else if seconds & (1 << UInt64(t.second)) == 0 {
                n += 1
            } else {
                return n
            }
        }
        return nil
    }
}
