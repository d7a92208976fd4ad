import Testing

@testable import MPP

/// The cross-SDK vectors of `tempoxyz/mpp-tools: conformance/vectors/challenge-id.json` (spec §1.3).
struct ChallengeIDTests {
    static let secret = "test-vector-secret-minimum-32-byte-secret"

    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var expires: String?
        var header: String?
        var opaque: String?
        var id: String
        var testDescription: String { name }
    }

    static let vectors = [
        Vector(name: "minimal", id: "6QDs0BmhrI_v67iWeCMvGqQJEFQ6ErWKlk7zi5xL6t0"),
        Vector(name: "with expires", expires: "2025-01-06T12:00:00Z", id: "ZcHgfEi5_Qyda9NQwUzamsCgCcWXw6N6EH2NLyaSTlg"),
        Vector(
            name: "with Payment-Authorization header", header: "Payment-Authorization",
            id: "re8MIMJYpIJ0r_aiizscg6ghtipQM8IpOa_NtpwIU8E"),
        Vector(name: "opaque slot verbatim", opaque: "trace-123", id: "1XJ-Ti0DACNe3E1zHvwH6OdnKlhUx6xKxDbhJyexng4"),
    ]

    /// Beyond the conformance file: expires and header together, computed with pympp 0.16.0.
    static let pympp = [
        Vector(
            name: "expires and header (pympp)", expires: "2025-01-06T12:00:00Z", header: "Payment-Authorization",
            id: "24a9S_pFjabG53VQwi5t51AUExhxqXf_KNF57wURA7Y"),
        Vector(name: "Authorization is never bound", header: "authorization", id: "6QDs0BmhrI_v67iWeCMvGqQJEFQ6ErWKlk7zi5xL6t0"),
    ]

    @Test(arguments: vectors + pympp)
    func crossSDKVector(_ vector: Vector) throws {
        let request = try JCS.base64URL(.object(["amount": .string("1000000")]))
        let id = ChallengeSecrets.id(
            secret: Self.secret, realm: "api.example.com", method: "tempo", intent: "charge", request: request,
            expires: vector.expires, digest: nil, header: vector.header, opaque: vector.opaque)
        #expect(id == vector.id)
        let challenge = PaymentChallenge(
            id: vector.id, realm: "api.example.com", method: "tempo", intent: "charge", request: request,
            expires: vector.expires, opaque: vector.opaque, header: vector.header)
        #expect(try ChallengeSecrets([Self.secret]).issued(challenge))
    }
}
