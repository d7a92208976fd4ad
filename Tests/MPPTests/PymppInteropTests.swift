import Foundation
import SettleTesting
import Testing

@testable import MPP

/// Runs `Interop/pympp_wire.py`: pympp 0.16.0 (the reference SDK, unmodified) parses the challenges
/// Settle renders and recomputes their ids with the shared secret, builds credentials for them
/// that Settle parses, reads Settle's credential and receipt, and issues a challenge Settle verifies.
enum PymppOracle {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/pympp_wire.py")

    static let unavailableReason: String? = {
        guard let python = InteropPython.interpreter else { return "no Python found ($VIRTUAL_ENV/bin/python or .venv/bin/python)" }
        do {
            _ = try runChildProcess(python, ["-c", "import mpp, rfc8785"])
            return nil
        } catch {
            return "\(python) cannot import pympp: \(error)"
        }
    }()

    /// On CI always enabled, so that a missing pympp fails loudly.
    static var enabled: Bool { unavailableReason == nil || InteropPython.isCI }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func ask(_ input: Input) async throws -> Output {
        guard let python = InteropPython.interpreter else { throw Failure(description: unavailableReason ?? "no Python") }
        let data = try JSONEncoder().encode(input)
        let output = try await offPool { try runChildProcess(python, [script.path], input: data) }
        return try JSONDecoder().decode(Output.self, from: output)
    }

    struct Input: Encodable {
        var secret: String
        var realm: String
        var challenges: [String]
        var authorization: String
        var receipt: String
    }

    struct Output: Decodable {
        struct Parsed: Decodable {
            var id: String
            var recomputedId: String
            var verifies: Bool
            var request: [String: JSONValue]
            var requestB64: String
            var opaque: [String: JSONValue]?
            var expires: String?
            var digest: String?
            var description: String?
            var header: String?
            var credentialHeader: String
            var authorization: String
        }
        struct Echo: Decodable {
            var id: String
            var realm: String
            var method: String
            var intent: String
            var request: String
            var expires: String?
            var digest: String?
            var opaque: String?
            var header: String?
            var description: String?
            var payload: JSONValue
            var source: String?
        }
        struct Receipt: Decodable {
            var method: String
            var reference: String
            var timestamp: String
            var fundingCurrency: String?
            var extensions: [String: JSONValue]?
        }
        struct Issued: Decodable {
            var wwwAuthenticate: String
            var id: String
        }
        struct Problem: Decodable {
            var type: String
            var status: Int
            var title: String
        }
        var parsed: [Parsed]
        var credential: Echo
        var receipt: Receipt
        var issued: Issued
        var problems: [String: Problem]
    }
}

@Suite(.enabled(if: PymppOracle.enabled, "pympp is not installed (set CI to make this a failure)"))
struct PymppInteropTests {
    static let secret = "settle-interop-secret-at-least-32-bytes"
    static let realm = "settle.localhost"

    @Test func pymppAndSettleAgreeOnTheWire() async throws {
        let secrets = try ChallengeSecrets([Self.secret, "an-older-secret"])
        let challenges = [
            try PaymentChallenge.issue(
                secrets: secrets, realm: Self.realm, method: "tempo", intent: "charge",
                request: [
                    "amount": .string("1000000"), "currency": .string("0x20c0000000000000000000000000000000000000"),
                    "recipient": .string("0x" + String(repeating: "ab", count: 20)), "decimals": .integer(6),
                    "methodDetails": .object(["chainId": .integer(4217), "feePayer": .bool(true), "memo": .null]),
                    "ünïcode ☕": .string("\u{1F600}\u{7}"),
                    "_mppx_scope": .object(["http_method": .string("GET"), "resource": .string("/paid"), "route": .string("/paid")]),
                ],
                expires: "2099-01-01T00:00:00.000000Z", digest: "sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                description: "One \"paid\" call ☕ \\ 😀", opaque: ["_mpp_nonce": String(repeating: "7f", count: 32), "order": "42"],
                header: "Payment-Authorization"),
            try PaymentChallenge.issue(
                secrets: secrets, realm: Self.realm, method: "stripe", intent: "charge", request: ["amount": .string("100")],
                expires: nil),
        ]
        let credential = PaymentCredential(
            challenge: challenges[0], payload: .object(["type": .string("transaction"), "signature": .string("0x76f8")]),
            source: "did:pkh:eip155:4217:0x" + String(repeating: "11", count: 20))
        let receipt = PaymentReceipt(
            method: "tempo", timestamp: "2026-12-02T15:00:00.188008Z", reference: "0x0b8d", fundingCurrency: "0x20c0",
            extensions: ["channelId": .string("0xc1")])
        let output = try await PymppOracle.ask(
            .init(
                secret: Self.secret, realm: Self.realm, challenges: try challenges.map { try $0.wwwAuthenticate() },
                authorization: try credential.authorization(), receipt: try receipt.headerValue()))

        // (a) pympp parses Settle's challenges and recomputes the same ids with the shared secret.
        #expect(output.parsed.count == challenges.count)
        for (challenge, parsed) in zip(challenges, output.parsed) {
            #expect(parsed.id == challenge.id)
            #expect(parsed.recomputedId == challenge.id)
            #expect(parsed.verifies)
            #expect(parsed.requestB64 == challenge.request)
            #expect(parsed.request == (try challenge.requestObject()))
            #expect(parsed.opaque == (try challenge.opaqueObject()))
            #expect(parsed.expires == challenge.expires)
            #expect(parsed.digest == challenge.digest)
            #expect(parsed.description == challenge.description)
            #expect(parsed.header == challenge.header)
            #expect(parsed.credentialHeader == challenge.credentialHeader)

            // (b) pympp's credential for it: Settle reads the echo unchanged, and it verifies.
            let header = challenge.credentialHeader == "Payment-Authorization"
            let paid = try #require(
                try PaymentCredential.find(
                    authorization: header ? "Bearer app-token" : parsed.authorization,
                    paymentAuthorization: header ? parsed.authorization : nil))
            #expect(paid.challenge == challenge)
            #expect(secrets.issued(paid.challenge))
            #expect(paid.payload == .object(["type": .string("hash"), "hash": .string("0x" + String(repeating: "ab", count: 32))]))
            #expect(paid.source == "did:pkh:eip155:4217:0x00000000000000000000000000000000000000aa")
        }

        // pympp reads Settle's credential and receipt.
        let echo = output.credential
        #expect(
            PaymentChallenge(
                id: echo.id, realm: echo.realm, method: echo.method, intent: echo.intent, request: echo.request,
                expires: echo.expires, digest: echo.digest, description: echo.description, opaque: echo.opaque,
                header: echo.header) == credential.challenge)
        #expect(echo.payload == credential.payload)
        #expect(echo.source == credential.source)
        #expect(output.receipt.method == "tempo")
        #expect(output.receipt.reference == "0x0b8d")
        #expect(output.receipt.timestamp == "2026-12-02T15:00:00.188008+00:00")
        #expect(output.receipt.fundingCurrency == "0x20c0")
        #expect(output.receipt.extensions == ["channelId": .string("0xc1")])

        // A challenge pympp issued with the shared secret: Settle parses it and verifies its id.
        let issued = try PaymentChallenge.parse(wwwAuthenticate: output.issued.wwwAuthenticate)
        #expect(issued.count == 1)
        #expect(issued.first?.id == output.issued.id)
        #expect(issued.first?.description == "pympp's offer ☕")
        #expect(issued.first?.header == "Payment-Authorization")
        #expect(issued.first.map(secrets.issued) == true)
        #expect(try issued.first?.requestObject()["amount"] == .string("2500"))

        // The problem types and statuses match pympp's errors.
        let codes: [String: PaymentProblem.Code] = [
            "payment-required": .paymentRequired, "malformed-credential": .malformedCredential,
            "invalid-challenge": .invalidChallenge, "payment-expired": .paymentExpired,
            "verification-failed": .verificationFailed, "credential-replayed": .credentialReplayed,
            "method-unsupported": .methodUnsupported,
        ]
        #expect(Set(output.problems.keys) == Set(codes.keys))
        let mismatched = codes.filter { name, code in
            output.problems[name].map { $0.type != code.type || $0.status != code.status || $0.title != code.title } ?? true
        }
        #expect(mismatched.isEmpty, "\(mismatched)")
    }
}
