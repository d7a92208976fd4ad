import Foundation

/// RFC 3339 times as Settle writes and reads them: the ledger API, MPP challenges and receipts.
///
/// Written in UTC with microseconds (the database's precision), so that a time read from one
/// response and sent back (`?at=`) means exactly the same instant. Read with or without fractional
/// seconds and with `Z` or a numeric offset.
public enum RFC3339 {
    public static func string(from date: Date) -> String {
        let (s, f) = microseconds(date)
        var (days, secondOfDay) = s.quotientAndRemainder(dividingBy: 86_400)
        if secondOfDay < 0 {
            days -= 1
            secondOfDay += 86_400
        }
        let (year, month, day) = civil(fromDays: days)
        var text: [UInt8] = []
        text.reserveCapacity(27)
        func digits(_ n: Int64, _ width: Int) {
            var reversed: [UInt8] = []
            var n = n
            repeat {
                reversed.append(UInt8(ascii: "0") + UInt8(n % 10))
                n /= 10
            } while n > 0
            while reversed.count < width { reversed.append(UInt8(ascii: "0")) }
            text += reversed.reversed()
        }
        digits(year, 4)
        text.append(UInt8(ascii: "-"))
        digits(month, 2)
        text.append(UInt8(ascii: "-"))
        digits(day, 2)
        text.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3_600, 2)
        text.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2)
        text.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        text.append(UInt8(ascii: "."))
        digits(f, 6)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }

    /// Whole seconds since 1970 and the microseconds after them, to the nearest microsecond of the
    /// `Date`'s exact value (its fractional part is split off exactly before scaling; scaling the
    /// whole value by 10^6 rounded wrongly now and then far from the epoch).
    public static func microseconds(_ date: Date) -> (seconds: Int64, micros: Int64) {
        // A Date counts from 2001; converting to 1970 in floating point would round once more.
        let t = date.timeIntervalSinceReferenceDate
        let whole = t.rounded(.down)
        let micros = Int64(((t - whole) * 1_000_000).rounded())
        let seconds = Int64(whole) + referenceEpoch
        return micros == 1_000_000 ? (seconds + 1, 0) : (seconds, micros)
    }

    /// 2001-01-01T00:00:00Z, a Date's zero, in seconds since 1970.
    private static let referenceEpoch: Int64 = 978_307_200

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (H. Hinnant's
    /// `civil_from_days`): exact, and without a `Calendar` (a twentieth of a posted transfer's
    /// response time went to `dateComponents`).
    public static func civil(fromDays z: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public static func date(from text: String) -> Date? {
        // yyyy-mm-ddThh:mm:ss[.fraction](Z|±hh:mm)
        let u = Array(text.utf8)
        guard u.count >= 20, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T") || u[10] == UInt8(ascii: "t"),
            u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var n = 0
            for i in range {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(u[i]) else { return nil }
                n = n * 10 + Int(u[i] - UInt8(ascii: "0"))
            }
            return n
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), (1...12).contains(month), (1...31).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        // The fraction as whole nanoseconds: summing digit/10^k in floating point lost a
        // microsecond now and then, and a time sent back must mean the instant it was read as.
        var nanoseconds: Int64 = 0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < u.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(u[i]), i - start < 9 {
                nanoseconds = nanoseconds * 10 + Int64(u[i] - UInt8(ascii: "0"))
                i += 1
            }
            guard i > start, i == u.count || !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(u[i]) else { return nil }
            for _ in (i - start)..<9 { nanoseconds *= 10 }
        }
        var offset = 0
        guard i < u.count else { return nil }
        switch u[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard i + 1 == u.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 == u.count, u[i + 3] == UInt8(ascii: ":"), let h = number(i + 1..<i + 3), let m = number(i + 4..<i + 6), h < 24,
                m < 60
            else { return nil }
            offset = (h * 3600 + m * 60) * (u[i] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        let days = daysFromCivil(Int64(year), Int64(month), Int64(day))
        guard civil(fromDays: days) == (Int64(year), Int64(month), Int64(day)) else { return nil }
        let seconds = days * 86_400 + Int64(hour * 3_600 + minute * 60 + second - offset)
        return Date(timeIntervalSinceReferenceDate: Double(seconds - referenceEpoch) + Double(nanoseconds) / 1_000_000_000)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    public static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
