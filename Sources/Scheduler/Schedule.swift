import Foundation

/// A cron expression read in an IANA time zone: the instants at which a job is due.
///
/// Daylight-saving changes follow cronie (cron(8), "Daylight Saving Time and other time changes"):
/// - **Clocks forward (a gap).** A fixed-time job (``CronExpression/isFixedTime``) whose time falls
///   in the skipped hour fires once, at the first instant after the gap (02:30 on the night Berlin
///   springs from 02:00 to 03:00 fires at 03:00 CEST). A wildcard job just has no slots in the gap.
/// - **Clocks back (an overlap).** A fixed-time job whose time falls in the repeated hour fires
///   once, at its first occurrence. A wildcard job fires in both passes (`*/15` runs eight times in
///   the hour from 02:00 to 03:00 on the night Berlin falls back), as its times happen twice.
public struct Schedule: Sendable, Hashable, CustomStringConvertible {
    public let cron: CronExpression
    public let timeZone: TimeZone
    /// The zone's name as configured (Foundation reports `UTC` as `GMT`).
    public let timeZoneName: String

    public init(cron: CronExpression, timeZone: TimeZone) {
        self.cron = cron
        self.timeZone = timeZone
        self.timeZoneName = timeZone.identifier
    }

    /// Parses `expression` in the IANA zone `timeZone` (`UTC` when nil).
    public init(_ expression: String, timeZone identifier: String = "UTC") throws(SchedulerError) {
        guard let zone = TimeZone(identifier: identifier) else {
            throw SchedulerError(.unknownTimeZone, "\(identifier.debugDescription) is not an IANA time zone")
        }
        self.cron = try CronExpression(expression)
        self.timeZone = zone
        self.timeZoneName = identifier
    }

    public var description: String { "\(cron.text) (\(timeZoneName))" }

    /// How far ``next(after:)`` looks before answering that the expression never fires (`30 2 31 2 *`
    /// never does; `0 0 29 2 1` can take 28 years).
    static let horizon: Int64 = 30 * 366 * 86_400

    /// The first instant strictly after `instant` at which the job is due, or nil if there is none
    /// within 30 years.
    public func next(after instant: Date) -> Date? {
        var start = Int64(instant.timeIntervalSince1970.rounded(.down)) + 1
        let horizon = start + Self.horizon
        var repeatedBefore = cron.isFixedTime ? repeatedWallTimeEnd(at: start) : nil
        while start < horizon {
            let offset = offset(at: start)
            let transition = timeZone.nextDaylightSavingTimeTransition(after: Date(seconds: start)).map {
                Int64($0.timeIntervalSince1970.rounded())
            }
            let end = min(transition ?? horizon, horizon)
            // Between two transitions naive time = instant + offset, a bijection.
            let lower = max(start + offset, repeatedBefore ?? .min)
            if let naive = cron.firstMatch(from: lower, before: end + offset) { return Date(seconds: naive - offset) }
            guard let transition, transition < horizon else { return nil }
            let newOffset = self.offset(at: transition)
            if newOffset > offset, cron.isFixedTime,
                cron.firstMatch(from: transition + offset, before: transition + newOffset) != nil
            {
                return Date(seconds: transition)
            }
            repeatedBefore = newOffset < offset && cron.isFixedTime ? transition + offset : nil
            start = transition
        }
        return nil
    }

    /// The latest instant in `(floor, instant]` at which the job is due, if any.
    public func latest(after floor: Date, notAfter instant: Date) -> Date? {
        // Walk forward from a short look-back first: a minutely job missed for a year must not cost
        // half a million steps, and the latest slot does not depend on where the walk starts.
        let lookBacks: [TimeInterval?] = [3_600, 86_400, 40 * 86_400, 400 * 86_400, nil]
        for lookBack in lookBacks {
            let from = lookBack.map { max(floor, instant.addingTimeInterval(-$0)) } ?? floor
            var last: Date?
            var cursor = from
            while let n = next(after: cursor), n <= instant {
                last = n
                cursor = n
            }
            if last != nil || from == floor { return last }
        }
        return nil
    }

    /// The instants in `(floor, instant]` at which the job is due, oldest first; when there are more
    /// than `limit`, only the latest `limit`.
    public func slots(after floor: Date, notAfter instant: Date, limit: Int) -> [Date] {
        var found: [Date] = []
        var cursor = floor
        while let n = next(after: cursor), n <= instant {
            found.append(n)
            if found.count > limit { found.removeFirst() }
            cursor = n
        }
        return found
    }

    private func offset(at seconds: Int64) -> Int64 {
        Int64(timeZone.secondsFromGMT(for: Date(seconds: seconds)))
    }

    /// When `start` lies in the second pass of a repeated hour, the naive time at which that hour's
    /// first pass ended: fixed-time slots before it already fired in the first pass.
    private func repeatedWallTimeEnd(at start: Int64) -> Int64? {
        guard
            let t = timeZone.nextDaylightSavingTimeTransition(after: Date(seconds: start - 86_400)).map({
                Int64($0.timeIntervalSince1970.rounded())
            }), t <= start
        else { return nil }
        let before = offset(at: t - 1)
        let after = offset(at: t)
        guard before > after, start < t + (before - after) else { return nil }
        return t + before
    }
}

extension Date {
    init(seconds: Int64) { self.init(timeIntervalSince1970: TimeInterval(seconds)) }
}
