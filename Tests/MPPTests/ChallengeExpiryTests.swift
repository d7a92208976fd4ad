import Foundation
import Testing

@testable import MPP

struct ChallengeExpiryTests {
    @Test func formatsAsPymppDoes() throws {
        // 2026-11-24T18:12:42.188008Z, pympp's example.
        let date = Date(timeIntervalSince1970: 1_795_543_962.188008)
        #expect(ChallengeExpiry.format(date) == "2026-11-24T18:12:42.188008Z")
        #expect(ChallengeExpiry.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000Z")
    }

    @Test func parsesOffsetsAndFractions() throws {
        let base = try #require(ChallengeExpiry.parse("2025-01-06T12:00:00Z"))
        #expect(base.timeIntervalSince1970 == 1_736_164_800)
        #expect(ChallengeExpiry.parse("2025-01-06T13:30:00+01:30") == base)
        #expect(ChallengeExpiry.parse("2025-01-06T10:00:00-02:00") == base)
        let fractional = try #require(ChallengeExpiry.parse("2025-01-06T12:00:00.5z"))
        #expect(fractional.timeIntervalSince(base) == 0.5)
        let round = Date(timeIntervalSince1970: 1_795_543_962.25)
        #expect(ChallengeExpiry.parse(ChallengeExpiry.format(round)) == round)
    }

    @Test(arguments: [
        "", "2025-01-06T12:00:00", "2025-01-06 12:00:00Z", "2025-01-06T12:00:00.Z", "2025-02-30T12:00:00Z",
        "2025-13-01T12:00:00Z", "2025-01-06T24:00:00Z", "2025-01-06T12:00:00+0100", "2025-01-06T12:00:00Zjunk", "tomorrow",
    ])
    func refusesWhatNamesNoInstant(_ text: String) {
        #expect(ChallengeExpiry.parse(text) == nil)
    }

    @Test func checkFailsClosed() throws {
        let now = try #require(ChallengeExpiry.parse("2025-01-06T12:00:00Z"))
        let challenge = PaymentChallenge(id: "i", realm: "r", method: "tempo", intent: "charge", request: "e30")
        let cases: [(String?, PaymentProblem.Code?)] = [
            (nil, .invalidChallenge), ("", .invalidChallenge), ("2025-01-06T12:00:00", .invalidChallenge),
            ("2025-01-06T12:00:00Z", .paymentExpired), ("2025-01-06T11:59:59Z", .paymentExpired),
            ("2025-01-06T12:00:00.000001Z", nil),
        ]
        var wrong: [String] = []
        for (expires, code) in cases {
            var dated = challenge
            dated.expires = expires
            do {
                try ChallengeExpiry.check(dated, now: now)
                if code != nil { wrong.append("\(String(describing: expires)) accepted") }
            } catch {
                if error.code != code || error.challengeId != "i" { wrong.append("\(String(describing: expires)): \(error)") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong)")
    }
}

struct BodyDigestTests {
    @Test func matchesPymppsDigest() {
        // pympp: mpp._body_digest.compute(b"") and compute(b'{"a":1}').
        #expect(BodyDigest.of(Data()) == "sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        #expect(BodyDigest.matches(BodyDigest.of(Data(#"{"a":1}"#.utf8)), body: Data(#"{"a":1}"#.utf8)))
        #expect(!BodyDigest.matches(BodyDigest.of(Data(#"{"a":1}"#.utf8)), body: Data(#"{"a":2}"#.utf8)))
        #expect(!BodyDigest.matches("sha-256=", body: Data()))
    }
}
