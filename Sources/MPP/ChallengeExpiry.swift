import Foundation
import Timestamps

/// A challenge's `expires`: RFC 3339 with an offset, rendered as pympp does
/// (`2026-11-24T18:12:42.188008Z`, microseconds, UTC), read fail-closed.
public enum ChallengeExpiry {
    /// `date` as an `expires` value: UTC, microseconds, `Z`.
    public static func format(_ date: Date) -> String { RFC3339.string(from: date) }

    /// The instant an `expires` value names.
    /// - Returns: nil for anything but `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`: a timestamp without
    ///   an offset names no instant, so a server must treat it as invalid (fail closed, as pympp).
    public static func parse(_ text: String) -> Date? { RFC3339.date(from: text) }

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
