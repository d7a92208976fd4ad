import Foundation
import Scheduler
import Testing

/// The next fire time of cron expressions in IANA zones, daylight-saving changes included (cronie's
/// rules, see ``Schedule``). Every instant is written in UTC; the comments give the local time.
@Suite("cron schedules")
struct ScheduleTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var cron: String
        var zone: String
        var after: String
        /// The next fire times, in order; empty: never.
        var expected: [String]
        var why: String
        var testDescription: String { "\(cron) in \(zone) after \(after): \(why)" }
    }

    static let cases: [Case] = [
        // Fields.
        Case(cron: "0 0 29 2 *", zone: "UTC", after: "2026-01-01T00:00:00Z", expected: ["2028-02-29T00:00:00Z"], why: "leap day"),
        Case(
            cron: "0 0 1,15 * 1", zone: "UTC", after: "2026-03-01T00:00:00Z", expected: ["2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z"],
            why: "both day fields restricted: either matches"),
        Case(
            cron: "0 0 1 * *", zone: "UTC", after: "2026-03-01T00:00:00Z", expected: ["2026-04-01T00:00:00Z"],
            why: "day of week starred: day of month alone"),
        Case(cron: "0 0 * * 7", zone: "UTC", after: "2026-03-02T00:00:00Z", expected: ["2026-03-08T00:00:00Z"], why: "7 is Sunday"),
        Case(
            cron: "0 12 * jan-mar mon-fri", zone: "UTC", after: "2026-03-31T12:00:00Z", expected: ["2027-01-01T12:00:00Z"],
            why: "names, ranges, year wrap"),
        Case(
            cron: "*/20 9-17/4 * * *", zone: "UTC", after: "2026-01-01T17:40:00Z",
            expected: ["2026-01-02T09:00:00Z", "2026-01-02T09:20:00Z"],
            why: "steps on a range"),
        Case(
            cron: "5/15 * * * *", zone: "UTC", after: "2026-01-01T00:50:00Z", expected: ["2026-01-01T01:05:00Z"], why: "a/n runs to the end"
        ),
        Case(
            cron: "*/10 * * * * *", zone: "UTC", after: "2026-01-01T00:00:05Z", expected: ["2026-01-01T00:00:10Z", "2026-01-01T00:00:20Z"],
            why: "six fields: seconds first"),
        Case(cron: "* * * * *", zone: "UTC", after: "2026-01-01T00:00:00.500Z", expected: ["2026-01-01T00:01:00Z"], why: "strictly after"),
        Case(cron: "0 0 31 2 *", zone: "UTC", after: "2026-01-01T00:00:00Z", expected: [], why: "never"),
        Case(cron: "@daily", zone: "Europe/Berlin", after: "2026-01-01T00:00:00Z", expected: ["2026-01-01T23:00:00Z"], why: "midnight CET"),
        Case(
            cron: "@weekly", zone: "UTC", after: "2026-03-01T00:00:00Z", expected: ["2026-03-08T00:00:00Z"], why: "Sunday midnight"),
        // Europe/Berlin springs forward on 2026-03-29 at 02:00 CET (01:00 UTC) to 03:00 CEST.
        Case(
            cron: "30 2 * * *", zone: "Europe/Berlin", after: "2026-03-28T12:00:00Z",
            expected: ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"], why: "02:30 does not exist: runs at 03:00 CEST, once"),
        Case(
            cron: "0 3 * * *", zone: "Europe/Berlin", after: "2026-03-28T12:00:00Z", expected: ["2026-03-29T01:00:00Z"],
            why: "03:00 CEST exists"),
        Case(
            cron: "*/30 * * * *", zone: "Europe/Berlin", after: "2026-03-29T00:45:00Z",
            expected: ["2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"], why: "wildcard: no slots in the gap"),
        // Europe/Berlin falls back on 2026-10-25 at 03:00 CEST (01:00 UTC) to 02:00 CET.
        Case(
            cron: "30 2 * * *", zone: "Europe/Berlin", after: "2026-10-24T12:00:00Z",
            expected: ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"], why: "02:30 happens twice: fixed time runs at the first"),
        Case(
            cron: "30 2 * * *", zone: "Europe/Berlin", after: "2026-10-25T01:10:00Z", expected: ["2026-10-26T01:30:00Z"],
            why: "from inside the repeated hour: the second 02:30 is skipped"),
        Case(
            cron: "0 2 * * *", zone: "Europe/Berlin", after: "2026-10-25T00:30:00Z", expected: ["2026-10-26T01:00:00Z"],
            why: "02:00 CEST ran: 02:00 CET is skipped"),
        Case(
            cron: "*/30 * * * *", zone: "Europe/Berlin", after: "2026-10-25T00:15:00Z",
            expected: ["2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z"],
            why: "wildcard: both passes"),
        Case(
            cron: "30 * * * *", zone: "Europe/Berlin", after: "2026-10-25T01:10:00Z", expected: ["2026-10-25T01:30:00Z"],
            why: "a starred hour is a wildcard job"),
        // America/New_York springs forward on 2026-03-08 at 02:00 EST (07:00 UTC) to 03:00 EDT.
        Case(
            cron: "30 2 * * *", zone: "America/New_York", after: "2026-03-07T12:00:00Z",
            expected: ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"], why: "02:30 does not exist: 03:00 EDT"),
        Case(
            cron: "@hourly", zone: "America/New_York", after: "2026-03-08T06:30:00Z",
            expected: ["2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"], why: "01:30 EST, then 03:00 EDT, 04:00 EDT"),
        // America/New_York falls back on 2026-11-01 at 02:00 EDT (06:00 UTC) to 01:00 EST.
        Case(
            cron: "30 1 * * *", zone: "America/New_York", after: "2026-10-31T12:00:00Z",
            expected: ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"], why: "01:30 EDT, not 01:30 EST"),
        Case(
            cron: "0 * * * *", zone: "America/New_York", after: "2026-11-01T04:30:00Z",
            expected: ["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"], why: "hourly: 01:00 twice"),
    ]

    @Test(arguments: cases)
    func nextFireTimes(_ c: Case) throws {
        let schedule = try Schedule(c.cron, timeZone: c.zone)
        var cursor = try Self.date(c.after)
        var found: [String] = []
        for _ in 0..<max(c.expected.count, 1) {
            guard let next = schedule.next(after: cursor) else { break }
            found.append(next.formatted(.iso8601))
            cursor = next
        }
        #expect(found == c.expected)
    }

    @Test func latestAndEachMissedSlot() throws {
        let hourly = try Schedule("0 * * * *")
        #expect(
            hourly.latest(after: try Self.date("2026-01-01T00:00:00Z"), notAfter: try Self.date("2026-01-03T05:30:00Z"))
                == (try Self.date("2026-01-03T05:00:00Z")))
        #expect(hourly.latest(after: try Self.date("2026-01-01T00:00:00Z"), notAfter: try Self.date("2026-01-01T00:59:59Z")) == nil)
        let yearly = try Schedule("@yearly")
        #expect(
            yearly.latest(after: try Self.date("2020-01-01T00:00:00Z"), notAfter: try Self.date("2026-06-01T00:00:00Z"))
                == (try Self.date("2026-01-01T00:00:00Z")))
        let nightly = try Schedule("10 0 * * *")
        let floor = try Self.date("2026-01-01T00:10:00Z")
        let now = try Self.date("2026-01-05T12:00:00Z")
        #expect(
            nightly.slots(after: floor, notAfter: now, limit: 31).map { $0.formatted(.iso8601) } == [
                "2026-01-02T00:10:00Z", "2026-01-03T00:10:00Z", "2026-01-04T00:10:00Z", "2026-01-05T00:10:00Z",
            ])
        #expect(
            nightly.slots(after: floor, notAfter: now, limit: 2).map { $0.formatted(.iso8601) } == [
                "2026-01-04T00:10:00Z", "2026-01-05T00:10:00Z",
            ])
    }

    @Test(arguments: [
        "", "* * * *", "* * * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
        "5-1 * * * *", "a * * * *", "1,,2 * * * *", "@reboot", "-1 * * * *",
    ])
    func invalidExpressions(_ text: String) {
        #expect(throws: SchedulerError.self) { try CronExpression(text) }
        do {
            _ = try CronExpression(text)
        } catch {
            #expect(error.code == .invalidCron)
        }
    }

    @Test func unknownTimeZone() {
        do {
            _ = try Schedule("* * * * *", timeZone: "Mars/Olympus_Mons")
            Issue.record("an unknown zone was accepted")
        } catch {
            #expect(error.code == .unknownTimeZone)
        }
    }

    @Test func fixedTimeFollowsCronie() throws {
        #expect(try CronExpression("30 2 * * *").isFixedTime)
        #expect(try CronExpression("@daily").isFixedTime)
        #expect(try !CronExpression("@hourly").isFixedTime)
        #expect(try !CronExpression("*/15 2 * * *").isFixedTime)
        #expect(try !CronExpression("0 * * * *").isFixedTime)
    }

    static func date(_ text: String) throws -> Date {
        if let d = try? Date(text, strategy: .iso8601) { return d }
        return try Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
