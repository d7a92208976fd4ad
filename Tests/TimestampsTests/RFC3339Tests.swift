import Foundation
import Testing

@testable import Timestamps

/// Times are written without a `Calendar`; they must be what a Gregorian UTC calendar gives, and
/// read back to the same microsecond where a `Date` holds microseconds.
@Suite("RFC 3339 times")
struct RFC3339Tests {
    static func reference(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let (seconds, fraction) = RFC3339.microseconds(date)
        let c = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!, Int(fraction))
    }

    @Test func writesWhatACalendarGivesAndReadsItBack() throws {
        #expect(RFC3339.date(from: "2026-02-29T00:00:00Z") == nil)
        #expect(RFC3339.date(from: "2024-02-29T12:00:00.5+01:30") == Date(timeIntervalSince1970: 1_709_202_600.5))
        #expect(RFC3339.date(from: "2024-02-29T12:00:00.1234567891Z") == nil)
        var rng = SystemRandomNumberGenerator()
        // Years 1600 to 9999: leap centuries, the epoch, negative offsets from it.
        let fixed: [Double] = [0, -1, -0.000001, 86_399.999999, 951_782_400, 4_107_542_400, -11_676_096_000, 253_402_300_799.5]
        let random = (0..<5_000).map { _ in
            Double(Int64.random(in: -11_676_096_000...253_402_300_798, using: &rng)) + Double.random(in: 0..<1, using: &rng)
        }
        for seconds in fixed + random {
            let date = Date(timeIntervalSince1970: seconds)
            let text = RFC3339.string(from: date)
            #expect(text == Self.reference(date), "\(seconds)")
            let back = try #require(RFC3339.date(from: text))
            // A Date is a Double counted from 2001: it holds every microsecond only within 2^32
            // seconds of that (the years 1865 to 2137); there, a time read back writes the same text.
            guard abs(seconds - 978_307_200) < 4_294_967_296 else { continue }
            #expect(RFC3339.string(from: back) == text)
        }
    }

    /// Day by day over four centuries (the leap days of 1900, 2000 and 2100 included), both ways.
    @Test func daysAndDatesAgreeWithACalendar() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        var wrong: [String] = []
        for days in stride(from: Int64(-25_567), through: 120_000, by: 1) {
            let c = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(days * 86_400)))
            let (year, month, day) = RFC3339.civil(fromDays: days)
            if Int(year) != c.year || Int(month) != c.month || Int(day) != c.day || RFC3339.daysFromCivil(year, month, day) != days {
                wrong.append("\(days): \(year)-\(month)-\(day)")
                if wrong.count > 5 { break }
            }
        }
        #expect(wrong.isEmpty, "\(wrong)")
        #expect(RFC3339.date(from: "2000-02-29T00:00:00Z") != nil)
        #expect(RFC3339.date(from: "2100-02-29T00:00:00Z") == nil)
    }
}
