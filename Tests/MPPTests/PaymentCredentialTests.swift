import Foundation
import Testing

@testable import MPP

struct PaymentCredentialTests {
    static func credential(header: String? = nil) throws -> PaymentCredential {
        PaymentCredential(
            challenge: try PaymentChallengeTests.issue(header: header, description: "one call"),
            payload: .object(["type": .string("transaction"), "signature": .string("0x76ab")]),
            source: "did:pkh:eip155:4217:0x00000000000000000000000000000000000000aa")
    }

    static func encode(_ json: String) -> String { "Payment " + Base64URL.encode(Data(json.utf8)) }

    @Test func roundTripsAndStillVerifies() throws {
        let credential = try Self.credential(header: "Payment-Authorization")
        let parsed = try PaymentCredential.parse(try credential.authorization())
        #expect(parsed == credential)
        #expect(PaymentChallengeTests.secrets.issued(parsed.challenge))
    }

    @Test func findsTheCredentialInEitherHeader() throws {
        let credential = try Self.credential()
        let value = try credential.authorization()
        #expect(try PaymentCredential.find(authorization: "Bearer abc, " + value, paymentAuthorization: nil) == credential)
        #expect(try PaymentCredential.find(authorization: "Bearer abc", paymentAuthorization: value) == credential)
        #expect(try PaymentCredential.find(authorization: "PAYMENT " + value.dropFirst(8), paymentAuthorization: nil) == credential)
        #expect(try PaymentCredential.find(authorization: "Bearer abc", paymentAuthorization: nil) == nil)
        #expect(try PaymentCredential.find(authorization: nil, paymentAuthorization: nil) == nil)
        let huge = String(repeating: "x", count: PaymentCredential.maxAuthorizationLength + 1)
        #expect(try PaymentCredential.find(authorization: "Bearer " + huge, paymentAuthorization: nil) == nil)
        let error = #expect(throws: PaymentProblem.self) {
            try PaymentCredential.find(authorization: "Payment " + huge, paymentAuthorization: nil)
        }
        #expect(error?.code == .malformedCredential)
    }

    @Test func readsPymppsShape() throws {
        // What pympp's format_authorization emits: compact sorted JSON, empty optionals absent,
        // any payload JSON (null included).
        let parsed = try PaymentCredential.parse(
            Self.encode(
                #"{"challenge":{"expires":"","id":"abc","intent":"charge","method":"tempo","realm":"r","request":"e30"},"payload":null}"#))
        #expect(parsed.challenge == PaymentChallenge(id: "abc", realm: "r", method: "tempo", intent: "charge", request: "e30"))
        #expect(parsed.payload == .null)
        #expect(parsed.source == nil)
    }

    @Test(arguments: [
        ("scheme", "Bearer e30"),
        ("padding", "Payment e30="),
        ("not base64url", "Payment e3+"),
        ("not JSON", encode("{")),
        ("not an object", encode("[]")),
        ("no challenge", encode(#"{"payload":{}}"#)),
        ("no payload", encode(#"{"challenge":{"id":"a","method":"tempo"}}"#)),
        ("challenge not an object", encode(#"{"challenge":"a","payload":{}}"#)),
        ("no id", encode(#"{"challenge":{"method":"tempo"},"payload":{}}"#)),
        ("no method", encode(#"{"challenge":{"id":"a"},"payload":{}}"#)),
        ("method grammar", encode(#"{"challenge":{"id":"a","method":"TEMPO"},"payload":{}}"#)),
        ("header name", encode(#"{"challenge":{"id":"a","method":"tempo","header":"a b"},"payload":{}}"#)),
        ("description control", encode(#"{"challenge":{"id":"a","method":"tempo","description":"a\u0007"},"payload":{}}"#)),
        ("description CRLF", encode(#"{"challenge":{"id":"a","method":"tempo","description":"a\r\nb"},"payload":{}}"#)),
        ("field not a string", encode(#"{"challenge":{"id":7,"method":"tempo"},"payload":{}}"#)),
    ])
    func refusesMalformedCredentials(_ name: String, _ value: String) {
        let error = #expect(throws: PaymentProblem.self, "\(name)") { try PaymentCredential.parse(value) }
        #expect(error?.code == .malformedCredential, "\(name)")
        #expect(error?.status == 402, "\(name)")
    }
}

struct PaymentReceiptTests {
    @Test func encodesAndRoundTripsWithExtensions() throws {
        let receipt = PaymentReceipt(
            method: "tempo", timestamp: "2026-12-02T15:00:00.123456Z", reference: "0x0b8d", fundingCurrency: "0x20c0",
            extra: ["fee": .string("12")], extensions: ["channelId": .string("0xc1"), "status": .string("failed")])
        let value = try receipt.headerValue()
        let json = try Base64URL.decodeJSONObject(value)
        #expect(json["status"] == .string("success"))
        #expect(json["channelId"] == .string("0xc1"))
        let parsed = try PaymentReceipt.parse(value)
        #expect(parsed.reference == "0x0b8d")
        #expect(parsed.fundingCurrency == "0x20c0")
        #expect(parsed.extra == ["fee": .string("12")])
        #expect(parsed.extensions == ["channelId": .string("0xc1")])
    }

    @Test func refusesFailedOrIncompleteReceipts() {
        let failed = Base64URL.encode(Data(#"{"method":"tempo","reference":"r","status":"failed","timestamp":"t"}"#.utf8))
        let incomplete = Base64URL.encode(Data(#"{"method":"tempo","status":"success","timestamp":"t"}"#.utf8))
        #expect(throws: MPPWireError.self) { try PaymentReceipt.parse(failed) }
        #expect(throws: MPPWireError.self) { try PaymentReceipt.parse(incomplete) }
    }
}

struct PaymentProblemTests {
    @Test func slugsStatusesAndTypesFollowTheSpec() {
        let expected: [(PaymentProblem.Code, String, Int)] = [
            (.paymentRequired, "payment-required", 402), (.paymentInsufficient, "payment-insufficient", 402),
            (.paymentExpired, "payment-expired", 402), (.verificationFailed, "verification-failed", 402),
            (.credentialReplayed, "verification-failed", 403), (.methodUnsupported, "method-unsupported", 400),
            (.malformedCredential, "malformed-credential", 402), (.invalidChallenge, "invalid-challenge", 402),
            (.invalidPayload, "invalid-payload", 402), (.badRequest, "bad-request", 400),
            (.paymentActionRequired, "payment-action-required", 402), (.internalPaymentError, "internal-payment-error", 500),
            (.sessionInvalidSignature, "session/invalid-signature", 402), (.sessionSignerMismatch, "session/signer-mismatch", 402),
            (.sessionAmountExceedsDeposit, "session/amount-exceeds-deposit", 402),
            (.sessionDeltaTooSmall, "session/delta-too-small", 402), (.sessionChannelNotFound, "session/channel-not-found", 410),
            (.sessionChannelFinalized, "session/channel-finalized", 410),
            (.sessionChallengeNotFound, "session/challenge-not-found", 402),
            (.sessionInsufficientBalance, "session/insufficient-balance", 402),
        ]
        #expect(expected.map(\.0) == PaymentProblem.Code.all)
        let wrong = expected.filter {
            $0.0.slug != $0.1 || $0.0.status != $0.2 || $0.0.type != "https://paymentauth.org/problems/" + $0.1
                || $0.0.carriesChallenge != ($0.2 == 402)
        }
        #expect(wrong.isEmpty, "\(wrong)")
        #expect(Set(PaymentProblem.Code.all.map(\.description)).count == PaymentProblem.Code.all.count)
        #expect(PaymentProblem.Code.sessionInsufficientBalance.title == "Insufficient Balance")
    }

    @Test func insufficientBalanceCarriesRequiredTopUp() throws {
        let problem = PaymentProblem(.sessionInsufficientBalance, detail: "Top up.", requiredTopUp: "2500")
        let body = try JSONValue.decode(problem.body)
        #expect(body.objectValue?["requiredTopUp"] == .string("2500"))
        #expect(body.objectValue?["type"] == .string("https://paymentauth.org/problems/session/insufficient-balance"))
    }

    @Test func documentIsPymppsShape() throws {
        let problem = PaymentProblem(.invalidChallenge, detail: "Challenge \"abc\" is invalid: expired.", challengeId: "abc")
        let body = try JSONValue.decode(problem.body)
        #expect(
            body
                == .object([
                    "type": .string("https://paymentauth.org/problems/invalid-challenge"), "title": .string("Invalid Challenge"),
                    "status": .integer(402), "detail": .string("Challenge \"abc\" is invalid: expired."),
                    "challengeId": .string("abc"),
                ]))
        #expect(PaymentProblem.Code.methodUnsupported.title == "Method Unsupported")
        #expect(PaymentProblem.Code.credentialReplayed.title == "Verification Failed")
        #expect(PaymentProblem.Code.internalPaymentError.title == "Internal Payment Error")
        #expect(PaymentProblem.Code.paymentActionRequired.title == "Payment Action Required")
    }
}
