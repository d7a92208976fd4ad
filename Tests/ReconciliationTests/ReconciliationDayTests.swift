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
}
