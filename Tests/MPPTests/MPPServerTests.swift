import Foundation
import MPP
import NIOHTTP1
import SettleTesting
import Synchronization
import Testing

/// The server core over real HTTP: what a credential buys, in the spec's status codes and problem
/// types, with a method that verifies test tokens (the charges' own suites pay with real money).
@Suite struct MPPServerTests {
    @Test func anUnpaidRequestGetsOneChallengePerOfferAndNoContent() async throws {
        try await MPPTestServer.with { server in
            let answer = try await server.send("/paid")
            #expect(answer.status == 402)
            #expect(!answer.body.contains("paid content"))
            #expect(answer.headers.first(name: "Cache-Control") == "no-store")
            #expect(answer.headers.first(name: "Content-Type") == "application/problem+json")
            #expect(answer.problemType == "https://paymentauth.org/problems/payment-required")
            let challenges = answer.challenges
            #expect(challenges.map(\.method).sorted() == ["other", "test"])
            for challenge in challenges {
                #expect(challenge.realm == "127.0.0.1" && challenge.intent == "charge")
                #expect(try challenge.requestObject() == MPPTestServer.request(amount: "100"))
                #expect(try challenge.opaqueObject()?["scope"] == .string("GET /paid"))
                #expect(challenge.expires.flatMap(ChallengeExpiry.parse).map { $0 > Date() } == true)
            }
            // Every challenge id is unique (the opaque nonce), so none can be paid twice by replay.
            let again = try await server.send("/paid")
            #expect(Set(again.challenges.map(\.id)).isDisjoint(with: Set(challenges.map(\.id))))
            #expect(server.method.calls.withLock { $0 } == 0)
        }
    }

    @Test func aPaidRequestIsServedWithAReceiptOnceAndItsReplayIsRefusedWithoutAChallenge() async throws {
        try await MPPTestServer.with { server in
            let token = MPPTestServer.token()
            let (paid, authorization) = try await server.pay("/paid", token: token)
            #expect(paid.status == 200 && paid.body == "paid content")
            #expect(paid.receipt?.reference == token && paid.receipt?.method == "test")
            #expect(paid.headers.first(name: "Cache-Control") == "private")
            let replay = try await server.send("/paid", headers: [("Authorization", authorization)])
            #expect(replay.status == 403)
            #expect(replay.challenges.isEmpty)
            #expect(replay.problemType == "https://paymentauth.org/problems/verification-failed")
            #expect(!replay.body.contains("paid content"))
            #expect(replay.headers.first(name: "Payment-Receipt") == nil)
        }
    }

    @Test func aCredentialOnlyPaysForItsRouteAndTheRoutesCurrentTerms() async throws {
        try await MPPTestServer.with { server in
            let unpaid = try await server.send("/paid")
            let challenge = try #require(unpaid.challenges.first { $0.method == "test" })
            func answer(_ path: String, _ challenge: PaymentChallenge) async throws -> MPPTestServer.Answer {
                let authorization = try PaymentCredential(
                    challenge: challenge, payload: .object(["token": .string(MPPTestServer.token())])
                ).authorization()
                return try await server.send(path, headers: [("Authorization", authorization)])
            }
            // Same price, another route: the opaque scope differs.
            let twin = try await answer("/twin", challenge)
            #expect(twin.status == 402 && twin.problemType == "https://paymentauth.org/problems/invalid-challenge")
            #expect(!twin.challenges.isEmpty, "a fresh challenge comes with the refusal")
            // Another price.
            let pricier = try await answer("/pricier", challenge)
            #expect(pricier.status == 402 && pricier.problemType == "https://paymentauth.org/problems/invalid-challenge")
            // Every bound field tampered: the id no longer matches.
            var tampered: [PaymentChallenge] = []
            for field in ["realm", "request", "expires", "opaque", "intent", "id"] {
                var changed = challenge
                switch field {
                case "realm": changed.realm = "evil.example"
                case "request": changed.request = try JCS.base64URL(.object(MPPTestServer.request(amount: "1")))
                case "expires": changed.expires = ChallengeExpiry.format(Date().addingTimeInterval(86_400))
                case "opaque": changed.opaque = try JCS.base64URL(.object(["scope": .string("GET /paid")]))
                case "intent": changed.intent = "session"
                default: changed.id = String(changed.id.reversed())
                }
                tampered.append(changed)
            }
            for changed in tampered {
                let refused = try await answer("/paid", changed)
                #expect(refused.status == 402, "\(changed)")
                #expect(refused.problemType == "https://paymentauth.org/problems/invalid-challenge", "\(changed)")
                #expect(!refused.body.contains("paid content"))
            }
            #expect(server.method.calls.withLock { $0 } == 0, "no tampered credential reaches the method")
        }
    }

    @Test func anotherServersSecretOrRealmIsNotOurs() async throws {
        let foreign = try await MPPTestServer.with(secrets: ["another-secret-of-at-least-thirty-two-bytes"]) { other in
            try #require(try await other.send("/paid").challenges.first { $0.method == "test" })
        }
        let otherRealm = try await MPPTestServer.with(realm: "api.example.com") { other in
            try #require(try await other.send("/paid").challenges.first { $0.method == "test" })
        }
        try await MPPTestServer.with { server in
            for challenge in [foreign, otherRealm] {
                let authorization = try PaymentCredential(
                    challenge: challenge, payload: .object(["token": .string(MPPTestServer.token())])
                ).authorization()
                let answer = try await server.send("/paid", headers: [("Authorization", authorization)])
                #expect(answer.status == 402 && answer.problemType == "https://paymentauth.org/problems/invalid-challenge")
            }
        }
    }

    @Test func aRotatedSecretStillVerifiesDuringTheOverlap() async throws {
        let old = "the-old-secret-of-at-least-thirty-two-bytes"
        let challenge = try await MPPTestServer.with(secrets: [old]) { server in
            try #require(try await server.send("/paid").challenges.first { $0.method == "test" })
        }
        try await MPPTestServer.with(secrets: [MPPTestServer.secret, old]) { server in
            let authorization = try PaymentCredential(
                challenge: challenge, payload: .object(["token": .string(MPPTestServer.token())])
            ).authorization()
            #expect(try await server.send("/paid", headers: [("Authorization", authorization)]).status == 200)
        }
        try await MPPTestServer.with { server in
            let authorization = try PaymentCredential(
                challenge: challenge, payload: .object(["token": .string(MPPTestServer.token())])
            ).authorization()
            #expect(try await server.send("/paid", headers: [("Authorization", authorization)]).status == 402, "the old secret is retired")
        }
    }

    @Test func anExpiredChallengeIsRefusedAsExpired() async throws {
        try await MPPTestServer.with(lifetime: .milliseconds(1)) { server in
            let unpaid = try await server.send("/paid")
            let challenge = try #require(unpaid.challenges.first { $0.method == "test" })
            let deadline = try #require(challenge.expires.flatMap(ChallengeExpiry.parse))
            while Date() <= deadline { try await Task.sleep(for: .milliseconds(5)) }
            let authorization = try PaymentCredential(
                challenge: challenge, payload: .object(["token": .string(MPPTestServer.token())])
            ).authorization()
            let answer = try await server.send("/paid", headers: [("Authorization", authorization)])
            #expect(answer.status == 402 && answer.problemType == "https://paymentauth.org/problems/payment-expired")
        }
    }

    @Test func malformedCredentialsAndUnknownMethodsGetTheSpecsAnswers() async throws {
        try await MPPTestServer.with { server in
            for header in ["Payment !!!", "Payment eyJub3QiOiJqc29uIn0", "Payment " + String(repeating: "A", count: 66_000)] {
                let answer = try await server.send("/paid", headers: [("Authorization", header)])
                #expect(answer.status == 402, "\(header.prefix(30))")
                #expect(answer.problemType == "https://paymentauth.org/problems/malformed-credential", "\(header.prefix(30))")
                #expect(!answer.challenges.isEmpty)
            }
            // A method this server knows, but not on this route: 400 method-unsupported.
            let unpaid = try await server.send("/paid")
            var challenge = try #require(unpaid.challenges.first { $0.method == "test" })
            challenge.method = "lightning"
            challenge.id = ChallengeSecrets.id(
                secret: MPPTestServer.secret, realm: challenge.realm, method: challenge.method, intent: challenge.intent,
                request: challenge.request, expires: challenge.expires, digest: challenge.digest, header: challenge.header,
                opaque: challenge.opaque)
            let authorization = try PaymentCredential(challenge: challenge, payload: .object(["token": .string("good-x")])).authorization()
            let unsupported = try await server.send("/paid", headers: [("Authorization", authorization)])
            #expect(unsupported.status == 400 && unsupported.problemType == "https://paymentauth.org/problems/method-unsupported")
            // A payload that is not an object.
            let good = try #require(unpaid.challenges.first { $0.method == "test" })
            let scalar = try PaymentCredential(challenge: good, payload: .string("token")).authorization()
            let invalid = try await server.send("/paid", headers: [("Authorization", scalar)])
            #expect(invalid.status == 402 && invalid.problemType == "https://paymentauth.org/problems/invalid-payload")
        }
    }

    @Test func refusalsFromTheMethodKeepTheirStatus() async throws {
        try await MPPTestServer.with { server in
            let (bad, _) = try await server.pay("/paid", token: "bad")
            #expect(bad.status == 402 && bad.problemType == "https://paymentauth.org/problems/verification-failed")
            #expect(!bad.challenges.isEmpty)
            let (unknown, _) = try await server.pay("/paid", token: "unknown")
            #expect(unknown.status == 500 && unknown.problemType == "https://paymentauth.org/problems/internal-payment-error")
            #expect(unknown.challenges.isEmpty, "an unknown outcome must not invite a second payment")
            let (managed, _) = try await server.pay("/paid", token: "manage-topup")
            #expect(managed.status == 204 && managed.body.isEmpty)
            #expect(managed.receipt?.reference == "manage-topup" && managed.headers.first(name: "Payment-Session") == "manage-topup")
        }
    }

    @Test func aBoundBodyPaysForThatBodyOnly() async throws {
        try await MPPTestServer.with { server in
            let unpaid = try await server.send("/body", method: .POST, body: #"{"prompt":"one"}"#)
            let challenge = try #require(unpaid.challenges.first { $0.method == "test" })
            #expect(challenge.digest == BodyDigest.of(Data(#"{"prompt":"one"}"#.utf8)))
            let authorization = try PaymentCredential(
                challenge: challenge, payload: .object(["token": .string(MPPTestServer.token())])
            ).authorization()
            let other = try await server.send(
                "/body", method: .POST, headers: [("Authorization", authorization)], body: #"{"prompt":"two"}"#)
            #expect(other.status == 402 && other.problemType == "https://paymentauth.org/problems/invalid-challenge")
            let same = try await server.send(
                "/body", method: .POST, headers: [("Authorization", authorization)], body: #"{"prompt":"one"}"#)
            #expect(same.status == 200 && same.body == #"{"prompt":"one"}"#)
        }
    }

    @Test func nothingBehindTheMiddlewareIsServedFree() async throws {
        try await MPPTestServer.with { server in
            let unpriced = try await server.send("/unpriced")
            #expect(unpriced.status == 500 && !unpriced.body.contains("unpriced content"))
            for path in ["/paid/", "//paid", "/%70aid"] {
                let answer = try await server.send(path)
                #expect(answer.status == 402, "\(path)")
                #expect(!answer.body.contains("paid content"), "\(path)")
            }
            let head = try await server.send("/paid", method: .HEAD)
            #expect(head.status == 402)
            #expect(try await server.send("/free").status == 200)
            // A failing handler after payment: no receipt on the error.
            let (failed, _) = try await server.pay("/fails", token: MPPTestServer.token())
            #expect(failed.status == 500 && failed.headers.first(name: "Payment-Receipt") == nil)
        }
    }

    @Test func concurrentCopiesOfOneCredentialAreServedOnce() async throws {
        try await MPPTestServer.with { server in
            let unpaid = try await server.send("/paid")
            let challenge = try #require(unpaid.challenges.first { $0.method == "test" })
            let authorization = try PaymentCredential(
                challenge: challenge, payload: .object(["token": .string(MPPTestServer.token())])
            ).authorization()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<16 { group.addTask { try await server.send("/paid", headers: [("Authorization", authorization)]).status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 403 }.count == 15, "\(statuses)")
        }
    }
}
