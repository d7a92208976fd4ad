import Foundation

/// A challenge's `expires`: RFC 3339 with an offset, rendered as pympp does
/// (`2026-11-24T18:12:42.188008Z`, microseconds, UTC), read fail-closed.
public enum ChallengeExpiry {
    /// `date` as an `expires` value: UTC, microseconds, `Z`.
    public static func format(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = micros - seconds * 1_000_000
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.year, 4))-\(pad(parts.month, 2))-\(pad(parts.day, 2))T\(pad(parts.hour, 2)):"
            + "\(pad(parts.minute, 2)):\(pad(parts.second, 2)).\(pad(Int(fraction), 6))Z"
    }

    /// The instant an `expires` value names.
    /// - Returns: nil for anything but `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`: a timestamp without
    ///   an offset names no instant, so a server must treat it as invalid (fail closed, as pympp).
    public static func parse(_ text: String) -> Date? {
        let scalars = Array(text.utf8)
        var index = 0
        func number(_ width: Int) -> Int? {
            guard index + width <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[index..<(index + width)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += width
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < scalars.count, characters.utf8.contains(scalars[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2), expect("Tt"),
            let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2)
        else { return nil }
        var fraction = 0.0
        if index < scalars.count, scalars[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < scalars.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(scalars[index]) {
                fraction += Double(scalars[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        if expect("Zz") {
            offset = 0
        } else if index < scalars.count, scalars[index] == UInt8(ascii: "+") || scalars[index] == UInt8(ascii: "-") {
            let sign = scalars[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2), expect(":"), let minutes = number(2), hours < 24, minutes < 60 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard index == scalars.count, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        // Refuse dates the calendar would roll over (February 30th).
        guard components.isValidDate(in: calendar), let base = calendar.date(from: components) else { return nil }
        return base.addingTimeInterval(fraction - TimeInterval(offset))
    }

    /// Checks a challenge's `expires` against `now`, failing closed.
    /// - Throws: ``PaymentProblem/Code/invalidChallenge`` when `expires` is missing or not RFC 3339
    ///   with an offset; ``PaymentProblem/Code/paymentExpired`` when it is not after `now`.
    public static func check(_ challenge: PaymentChallenge, now: Date) throws(PaymentProblem) {
        guard let expires = challenge.expires, !expires.isEmpty else {
            throw PaymentProblem(
                .invalidChallenge, detail: "Challenge \"\(challenge.id)\" is invalid: missing expires.", challengeId: challenge.id)
        }
        guard let date = parse(expires) else {
            throw PaymentProblem(
                .invalidChallenge, detail: "Challenge \"\(challenge.id)\" is invalid: invalid expires.", challengeId: challenge.id)
        }
        guard date > now else {
            throw PaymentProblem(.paymentExpired, detail: "Payment expired at \(expires).", challengeId: challenge.id)
        }
    }
}
