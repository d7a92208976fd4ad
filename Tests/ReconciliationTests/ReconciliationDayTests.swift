import Foundation
import Reconciliation
import Testing

@Suite("Reconciliation day")
struct ReconciliationDayTests {
    @Test func theCutOffIsTheEndOfTheDayInItsTimeZone() throws {
        let utc = try ReconciliationDay("2026-11-20")
        #expect(utc.start == Date(timeIntervalSince1970: 1_795_132_800))
        #expect(utc.cutoff == Date(timeIntervalSince1970: 1_795_219_200))
        let newYork = try ReconciliationDay("2026-11-20", timeZone: "America/New_York")
        #expect(newYork.cutoff == Date(timeIntervalSince1970: 1_795_219_200 + 5 * 3_600))
        // The day daylight saving time ends in New York has 25 hours.
        let long = try ReconciliationDay("2026-11-01", timeZone: "America/New_York")
        #expect(long.cutoff.timeIntervalSince(long.start) == 25 * 3_600)
        #expect(utc.previous.date == "2026-11-19")
    }

    @Test(arguments: ["2026-02-30", "2026-11", "20261120", "2026-13-01", "tomorrow"])
    func badDatesAreRefused(_ text: String) {
        #expect(throws: ReconciliationError.self) { try ReconciliationDay(text) }
    }

    @Test func anUnknownTimeZoneIsRefused() {
        #expect(throws: ReconciliationError.self) { try ReconciliationDay("2026-11-20", timeZone: "Mars/Olympus") }
    }

    /// A run from 23:59:30 to 00:00:30 UTC touches two days; one inside a day, one. The demo
    /// reconciles each day its money moved on.
    @Test func theDaysAnIntervalTouchesIncludeBothSidesOfMidnight() throws {
        let midnight = Date(timeIntervalSince1970: 1_795_219_200)  // 2026-11-21T00:00:00Z
        let across = try ReconciliationDay.days(from: midnight - 30, to: midnight + 30)
        #expect(across.map(\.date) == ["2026-11-20", "2026-11-21"])
        #expect(try ReconciliationDay.days(from: midnight + 30, to: midnight + 3_600).map(\.date) == ["2026-11-21"])
        #expect(try ReconciliationDay.days(from: midnight - 1, to: midnight - 1).map(\.date) == ["2026-11-20"])
        #expect(try ReconciliationDay.days(from: midnight, to: midnight).map(\.date) == ["2026-11-21"])
        // In New York the same instants are one evening.
        #expect(
            try ReconciliationDay.days(from: midnight - 30, to: midnight + 30, timeZone: "America/New_York").map(\.date) == ["2026-11-20"])
        #expect(try ReconciliationDay.days(from: midnight, to: midnight + 3 * 86_400).count == 4)
    }
}
