import Foundation

/// One offer of the `Payment` HTTP authentication scheme: a `WWW-Authenticate: Payment …`
/// challenge, and the echo of it a credential carries (spec §1.2, §1.4).
///
/// `request` and `opaque` are kept as the base64url strings that came on the wire: the id binds
/// them verbatim, so a client must echo them unchanged and a server must never re-encode them.
public struct PaymentChallenge: Sendable, Hashable {
    /// The HMAC-bound id (see ``ChallengeSecrets``).
    public var id: String
    /// The protection space, usually the server's host name.
    public var realm: String
    /// The payment method, e.g. `tempo`, `stripe` (`^[a-z][a-z0-9:_-]*$`).
    public var method: String
    /// The intent, e.g. `charge`, `session`.
    public var intent: String
    /// `base64url_nopad(JCS(request object))`, verbatim.
    public var request: String
    /// RFC 3339 expiry, verbatim.
    public var expires: String?
    /// The request body's digest (`sha-256=<base64>`), opaque to everyone but its issuer.
    public var digest: String?
    /// Human-readable text; not bound into the id.
    public var description: String?
    /// `base64url_nopad(JCS(flat string object))`, verbatim; echoed unchanged.
    public var opaque: String?
    /// The field the client must send the credential in when not `Authorization`
    /// (`Payment-Authorization`); nil means `Authorization`, which is never advertised.
    public var header: String?

    /// The `Authorization` default, never advertised nor bound.
    public static let authorizationHeader = "Authorization"
    /// The variant for apps whose `Authorization` is taken.
    public static let paymentAuthorizationHeader = "Payment-Authorization"

    /// A challenge with the given fields as they are; see ``issue(secrets:realm:method:intent:request:expires:digest:description:opaque:header:)``
    /// to mint one with a bound id.
    public init(
        id: String, realm: String, method: String, intent: String, request: String, expires: String? = nil,
        digest: String? = nil, description: String? = nil, opaque: String? = nil, header: String? = nil
    ) {
        self.id = id
        self.realm = realm
        self.method = method
        self.intent = intent
        self.request = request
        self.expires = expires
        self.digest = digest
        self.description = description
        self.opaque = opaque
        self.header = header
    }

    /// Mints a challenge whose id the first of `secrets` binds.
    /// - Parameters:
    ///   - request: The method's request object, encoded as JCS + base64url.
    ///   - opaque: Server correlation data echoed by the client (a flat string object).
    ///   - header: The credential field to advertise; `Authorization` (or nil) advertises nothing.
    /// - Throws: ``MPPWireError`` when `request` cannot be canonicalized, `method` or `header` break
    ///   their grammar, or a field contains CR/LF.
    public static func issue(
        secrets: ChallengeSecrets, realm: String, method: String, intent: String, request: [String: JSONValue],
        expires: String?, digest: String? = nil, description: String? = nil, opaque: [String: String]? = nil,
        header: String? = nil
    ) throws(MPPWireError) -> PaymentChallenge {
        try validateMethod(method)
        let advertised = try validatedHeader(header)
        let requestText = try JCS.base64URL(.object(request))
        let opaqueText = try opaque.map { (fields) throws(MPPWireError) in try JCS.base64URL(.object(fields.mapValues { .string($0) })) }
        let id = secrets.id(
            realm: realm, method: method, intent: intent, request: requestText, expires: expires, digest: digest,
            header: advertised, opaque: opaqueText)
        let challenge = PaymentChallenge(
            id: id, realm: realm, method: method, intent: intent, request: requestText, expires: expires, digest: digest,
            description: description, opaque: opaqueText, header: advertised)
        // Refuse now what could not be rendered later.
        _ = try challenge.wwwAuthenticate()
        return challenge
    }

    /// The decoded request object.
    public func requestObject() throws(MPPWireError) -> [String: JSONValue] {
        try Base64URL.decodeJSONObject(request)
    }

    /// The decoded opaque object, nil when there is none.
    public func opaqueObject() throws(MPPWireError) -> [String: JSONValue]? {
        guard let opaque, !opaque.isEmpty else { return nil }
        return try Base64URL.decodeJSONObject(opaque)
    }

    /// The field the client sends the credential in.
    public var credentialHeader: String { header ?? Self.authorizationHeader }

    /// The `WWW-Authenticate` value: `Payment id="…", realm="…", method="…", intent="…", request="…"`
    /// then `digest`, `expires`, `description`, `header`, `opaque` when present (pympp's order).
    /// - Throws: ``MPPWireError/Code/invalidParameter`` when a value contains CR or LF.
    public func wwwAuthenticate() throws(MPPWireError) -> String {
        var parts = [
            "id=\(try QuotedString.quote(id))", "realm=\(try QuotedString.quote(realm))",
            "method=\(try QuotedString.quote(method))", "intent=\(try QuotedString.quote(intent))",
            "request=\(try QuotedString.quote(request))",
        ]
        if let digest, !digest.isEmpty { parts.append("digest=\(try QuotedString.quote(digest))") }
        if let expires, !expires.isEmpty { parts.append("expires=\(try QuotedString.quote(expires))") }
        if let description, !description.isEmpty { parts.append("description=\(try QuotedString.quote(description))") }
        if let header { parts.append("header=\(try QuotedString.quote(header))") }
        if let opaque { parts.append("opaque=\(try QuotedString.quote(opaque))") }
        return "Payment " + parts.joined(separator: ", ")
    }

    /// The echo of this challenge a credential carries: its fields as a JSON object.
    public var echo: JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(id), "realm": .string(realm), "method": .string(method), "intent": .string(intent),
            "request": .string(request),
        ]
        if let expires { members["expires"] = .string(expires) }
        if let digest { members["digest"] = .string(digest) }
        if let header { members["header"] = .string(header) }
        if let opaque { members["opaque"] = .string(opaque) }
        if let description { members["description"] = .string(description) }
        return .object(members)
    }

    /// A header name to advertise: nil for none or `Authorization` (any case), else the name.
    static func advertisedHeader(_ header: String?) -> String? {
        guard let header, !header.isEmpty, header.lowercased() != authorizationHeader.lowercased() else { return nil }
        return header
    }

    /// ``advertisedHeader(_:)`` after checking the name is an RFC 9110 token.
    static func validatedHeader(_ header: String?) throws(MPPWireError) -> String? {
        guard let advertised = advertisedHeader(header) else { return nil }
        guard advertised.unicodeScalars.allSatisfy(QuotedString.isTokenCharacter) else {
            throw MPPWireError(.invalidParameter, "an invalid credential header name")
        }
        return advertised
    }

    /// The method grammar mppx, mpp-rs and pympp accept: `^[a-z][a-z0-9:_-]*$`.
    static func validateMethod(_ method: String) throws(MPPWireError) {
        let scalars = Array(method.unicodeScalars)
        let valid =
            scalars.first.map { ("a"..."z").contains($0) } == true
            && scalars.dropFirst().allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || ":_-".unicodeScalars.contains($0) }
        guard valid else { throw MPPWireError(.invalidParameter, "an invalid payment method id") }
    }
}
