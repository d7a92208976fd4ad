import Crypto
import Foundation

/// The server secrets that bind challenge ids (spec §1.3), with rotation: the first secret signs
/// new challenges, every secret verifies, so challenges issued before a rotation stay payable
/// while the old secret is kept (the overlap window).
///
/// `id = base64url_nopad(HMAC-SHA256(secret, realm|method|intent|request|expires|digest|[header|]opaque))`
/// with absent slots empty. Binding makes the server stateless: it recognizes its own challenges
/// by recomputing their ids from what the client echoes.
public struct ChallengeSecrets: Sendable {
    private let keys: [SymmetricKey]

    /// - Parameter secrets: The signing secret first, then older secrets still accepted. Their
    ///   UTF-8 bytes are the HMAC keys, as pympp's `MPP_SECRET_KEY`.
    /// - Throws: ``MPPWireError/Code/invalidSecret`` when the list or a secret is empty.
    public init(_ secrets: [String]) throws(MPPWireError) {
        guard !secrets.isEmpty else { throw MPPWireError(.invalidSecret, "no challenge secret") }
        guard !secrets.contains(where: \.isEmpty) else { throw MPPWireError(.invalidSecret, "an empty challenge secret") }
        keys = secrets.map { SymmetricKey(data: Data($0.utf8)) }
    }

    /// The id the signing secret gives these fields. `request` and `opaque` are their slots verbatim
    /// (the base64url strings of the challenge; an absent `opaque` is empty).
    public func id(
        realm: String, method: String, intent: String, request: String, expires: String?, digest: String?,
        header: String?, opaque: String?
    ) -> String {
        Self.id(
            key: keys[0], input: Self.input(realm, method, intent, request, expires, digest, header, opaque))
    }

    /// The id `secret` gives these fields; for the cross-SDK vectors and tests.
    public static func id(
        secret: String, realm: String, method: String, intent: String, request: String, expires: String?,
        digest: String?, header: String?, opaque: String?
    ) -> String {
        id(
            key: SymmetricKey(data: Data(secret.utf8)),
            input: input(realm, method, intent, request, expires, digest, header, opaque))
    }

    /// Whether one of the secrets issued `challenge`: its id recomputed from its own fields, compared
    /// in constant time against every secret (no early exit, so timing tells nothing of which).
    public func issued(_ challenge: PaymentChallenge) -> Bool {
        let input = Self.input(
            challenge.realm, challenge.method, challenge.intent, challenge.request, challenge.expires,
            challenge.digest, challenge.header, challenge.opaque)
        var matched = false
        for key in keys {
            matched = ConstantTime.equal(Self.id(key: key, input: input), challenge.id) || matched
        }
        return matched
    }

    /// The pipe-joined HMAC input: seven slots, or eight when a non-default credential header is
    /// advertised (inserted before `opaque`; `Authorization` is never bound, keeping the legacy ids).
    static func input(
        _ realm: String, _ method: String, _ intent: String, _ request: String, _ expires: String?,
        _ digest: String?, _ header: String?, _ opaque: String?
    ) -> Data {
        var slots = [realm, method, intent, request, expires ?? "", digest ?? ""]
        if let advertised = PaymentChallenge.advertisedHeader(header) { slots.append(advertised) }
        slots.append(opaque ?? "")
        return Data(slots.joined(separator: "|").utf8)
    }

    private static func id(key: SymmetricKey, input: Data) -> String {
        Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: input, using: key)))
    }
}
