import Foundation
import Testing

@testable import MPP

struct PaymentChallengeTests {
    static let secrets = try! ChallengeSecrets(["current-secret-at-least-32-bytes-long"])

    static func issue(
        secrets: ChallengeSecrets = secrets, header: String? = nil, description: String? = nil
    ) throws -> PaymentChallenge {
        try PaymentChallenge.issue(
            secrets: secrets, realm: "api.example.com", method: "tempo", intent: "charge",
            request: ["amount": .string("1000000"), "currency": .string("0x20c0"), "recipient": .string("0xabc")],
            expires: "2026-12-02T16:00:00Z", digest: "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            description: description, opaque: ["_mpp_nonce": "00ff", "order": "42"], header: header)
    }

    @Test func rendersInPymppOrder() throws {
        let challenge = try Self.issue(header: "Payment-Authorization", description: "One \"call\"")
        let value = try challenge.wwwAuthenticate()
        let names = value.dropFirst("Payment ".count).split(separator: ", ").map { $0.split(separator: "=")[0] }
        #expect(names == ["id", "realm", "method", "intent", "request", "digest", "expires", "description", "header", "opaque"])
        #expect(value.contains(#"description="One \"call\"""#))
    }

    @Test func parseOfRenderIsIdentityAndVerifies() throws {
        for header in [nil, "Payment-Authorization"] {
            let challenge = try Self.issue(header: header, description: "naïve ☕ \\ \"quoted\"")
            let parsed = try PaymentChallenge.parse(wwwAuthenticate: try challenge.wwwAuthenticate())
            #expect(parsed == [challenge])
            #expect(Self.secrets.issued(parsed[0]))
            #expect(try parsed[0].requestObject()["amount"] == .string("1000000"))
            #expect(try parsed[0].opaqueObject() == ["_mpp_nonce": .string("00ff"), "order": .string("42")])
        }
    }

    @Test func everyBoundFieldTamperedFailsVerification() throws {
        let challenge = try Self.issue(header: "Payment-Authorization")
        let other = try JCS.base64URL(.object(["amount": .string("1")]))
        let tampered: [(String, PaymentChallenge)] = [
            ("id", with(challenge) { $0.id = "6QDs0BmhrI_v67iWeCMvGqQJEFQ6ErWKlk7zi5xL6t0" }),
            ("realm", with(challenge) { $0.realm = "evil.example.com" }),
            ("method", with(challenge) { $0.method = "stripe" }),
            ("intent", with(challenge) { $0.intent = "session" }),
            ("request", with(challenge) { $0.request = other }),
            ("expires", with(challenge) { $0.expires = "2099-01-01T00:00:00Z" }),
            ("no expires", with(challenge) { $0.expires = nil }),
            ("digest", with(challenge) { $0.digest = nil }),
            ("header", with(challenge) { $0.header = nil }),
            ("opaque", with(challenge) { $0.opaque = nil }),
        ]
        let accepted = tampered.filter { Self.secrets.issued($0.1) }.map(\.0)
        #expect(accepted.isEmpty, "\(accepted)")
        // The description is display text, not bound.
        #expect(Self.secrets.issued(with(challenge) { $0.description = "changed" }))
    }

    @Test func rotationSignsWithTheFirstAndVerifiesWithAll() throws {
        let old = try ChallengeSecrets(["old-secret"])
        let rotated = try ChallengeSecrets(["new-secret", "old-secret"])
        let retired = try ChallengeSecrets(["new-secret"])
        let issuedBefore = try Self.issue(secrets: old)
        let issuedAfter = try Self.issue(secrets: rotated)
        #expect(rotated.issued(issuedBefore))
        #expect(rotated.issued(issuedAfter))
        #expect(retired.issued(issuedAfter))
        #expect(!retired.issued(issuedBefore))
        #expect(!old.issued(issuedAfter))
        #expect(throws: MPPWireError.self) { try ChallengeSecrets([]) }
        #expect(throws: MPPWireError.self) { try ChallengeSecrets(["a", ""]) }
    }

    @Test func parsesCommaMergedChallengesBesideOtherSchemes() throws {
        let first = try Self.issue()
        let second = try PaymentChallenge.issue(
            secrets: Self.secrets, realm: "api.example.com", method: "stripe", intent: "charge",
            request: ["amount": .string("100")], expires: nil)
        let merged = "Bearer realm=\"x\", " + (try first.wwwAuthenticate()) + ", Basic dXNlcjpwYXNz==, " + (try second.wwwAuthenticate())
        #expect(try PaymentChallenge.parse(wwwAuthenticate: merged) == [first, second])
    }

    @Test func acceptsTokensCaseInsensitiveNamesAndIgnoresUnknownParameters() throws {
        let request = try JCS.base64URL(.object(["amount": .string("1")]))
        let parsed = try PaymentChallenge.parse(
            wwwAuthenticate:
                "payment ID=abc ,REALM=\"r\",  Method=tempo, intent = charge, request=\(request), future=\"x\", header=Authorization")
        #expect(parsed == [PaymentChallenge(id: "abc", realm: "r", method: "tempo", intent: "charge", request: request)])
    }

    @Test func unescapesMppxUTF16Escapes() throws {
        let request = try JCS.base64URL(.object([:]))
        let parsed = try PaymentChallenge.parse(
            wwwAuthenticate:
                #"Payment id="i", realm="r", method="m", intent="c", request="\#(request)", description="\u2615 \ud83d\ude00 \ud83d""#)
        #expect(parsed.first?.description == "☕ 😀 \u{FFFD}")
    }

    static let request = try! JCS.base64URL(.object(["amount": .string("1")]))

    @Test(arguments: [
        (
            "duplicate", "Payment id=\"a\", ID=\"b\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"\(request)\"",
            MPPWireError.Code.duplicateParameter
        ),
        ("no id", "Payment realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"\(request)\"", .missingParameter),
        ("empty id", "Payment id=\"\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"\(request)\"", .missingParameter),
        ("no realm", "Payment id=\"a\", method=\"tempo\", intent=\"charge\", request=\"\(request)\"", .missingParameter),
        ("no intent", "Payment id=\"a\", realm=\"r\", method=\"tempo\", request=\"\(request)\"", .missingParameter),
        ("no request", "Payment id=\"a\", realm=\"r\", method=\"tempo\", intent=\"charge\"", .missingParameter),
        ("method grammar", "Payment id=\"a\", realm=\"r\", method=\"Tempo\", intent=\"charge\", request=\"\(request)\"", .invalidParameter),
        (
            "request not base64url", "Payment id=\"a\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"\(request)==\"",
            .invalidBase64URL
        ),
        ("request not an object", "Payment id=\"a\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"WzFd\"", .invalidJSON),
        (
            "opaque not JSON", "Payment id=\"a\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"\(request)\", opaque=\"eyJ\"",
            .invalidJSON
        ),
        (
            "bad header name", "Payment id=\"a\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"\(request)\", header=\"X Y\"",
            .invalidParameter
        ),
        ("unterminated", "Payment id=\"a", .malformedHeader),
        ("other scheme only", "Bearer realm=\"r\"", .malformedHeader),
        ("garbage", "Payment id=\"a\" realm=\"r\"", .malformedHeader),
    ])
    func refusesMalformedChallenges(_ name: String, _ value: String, _ code: MPPWireError.Code) {
        let error = #expect(throws: MPPWireError.self, "\(name)") { try PaymentChallenge.parse(wwwAuthenticate: value) }
        #expect(error?.code == code, "\(name): \(String(describing: error))")
    }

    @Test func refusesCRLFAndBadHeadersWhenIssuing() {
        #expect(throws: MPPWireError.self) { try Self.issue(description: "a\r\nSet-Cookie: x") }
        #expect(throws: MPPWireError.self) { try Self.issue(header: "Bad Header") }
        #expect(throws: MPPWireError.self) {
            try PaymentChallenge.issue(
                secrets: Self.secrets, realm: "r", method: "9tempo", intent: "charge", request: [:], expires: nil)
        }
        #expect(throws: MPPWireError.self) {
            try PaymentChallenge.issue(
                secrets: Self.secrets, realm: "r", method: "tempo", intent: "charge", request: ["a": .number(.nan)], expires: nil)
        }
    }

    @Test func authorizationIsNeverAdvertised() throws {
        let challenge = try Self.issue(header: "AUTHORIZATION")
        #expect(challenge.header == nil)
        #expect(challenge.credentialHeader == "Authorization")
        #expect(try !challenge.wwwAuthenticate().contains("header="))
    }
}

func with<T>(_ value: T, _ change: (inout T) -> Void) -> T {
    var copy = value
    change(&copy)
    return copy
}
