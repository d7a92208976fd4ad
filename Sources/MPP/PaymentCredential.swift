import Foundation

/// A `Payment` credential: `Authorization: Payment <base64url_nopad(JSON)>` (or the same in
/// `Payment-Authorization`), carrying the echoed challenge, the method's proof and the payer's
/// claimed identity (spec §1.4; pympp `parse_authorization`).
public struct PaymentCredential: Sendable, Hashable {
    /// The challenge the client answers, echoed with `request` and `opaque` verbatim.
    public var challenge: PaymentChallenge
    /// The method-specific proof.
    public var payload: JSONValue
    /// The payer's DID as the client asserts it; never proof of who paid.
    public var source: String?

    /// The longest `Authorization` value accepted (as pympp and mppx): a credential echoes a
    /// request that may itself reach 16 KiB.
    public static let maxAuthorizationLength = 64 * 1024

    /// Creates a credential.
    public init(challenge: PaymentChallenge, payload: JSONValue, source: String? = nil) {
        self.challenge = challenge
        self.payload = payload
        self.source = source
    }

    /// The credential among request headers: `Payment-Authorization` when the challenge advertised
    /// it, else the `Payment` scheme of `Authorization` (which may list several schemes, comma-separated).
    /// - Returns: nil when neither header carries a `Payment` credential (the request is unpaid).
    /// - Throws: ``PaymentProblem/Code/malformedCredential`` when one is there but does not parse.
    public static func find(authorization: String?, paymentAuthorization: String?) throws(PaymentProblem) -> PaymentCredential? {
        for value in [paymentAuthorization, authorization].compactMap({ $0 }) {
            guard value.utf8.count <= maxAuthorizationLength else {
                // Oversized non-payment auth (a large Bearer token) stays a silent challenge, as in pympp.
                if value.lowercased().contains("payment ") {
                    throw PaymentProblem(.malformedCredential, detail: "Credential is malformed: header exceeds maximum size.")
                }
                continue
            }
            for scheme in value.utf8.split(separator: UInt8(ascii: ",")) {
                let trimmed = trimmed(scheme)
                if isPaymentScheme(trimmed) { return try parse(String(Substring(trimmed))) }
            }
        }
        return nil
    }

    /// Parses one `Payment <base64url>` value.
    /// - Throws: ``PaymentProblem/Code/malformedCredential`` for a foreign scheme, bad base64url or
    ///   JSON, a missing `challenge`, `challenge.id` or `payload`, an invalid method or header name,
    ///   or a `description` with control characters (it may be reflected into a header).
    public static func parse(_ value: String) throws(PaymentProblem) -> PaymentCredential {
        do {
            return try decode(value)
        } catch {
            throw PaymentProblem(.malformedCredential, detail: "Credential is malformed: \(error.message).")
        }
    }

    private static func decode(_ value: String) throws(MPPWireError) -> PaymentCredential {
        guard value.utf8.count <= maxAuthorizationLength else { throw MPPWireError(.oversized, "header exceeds maximum size") }
        let scheme = trimmed(value.utf8[...])
        guard isPaymentScheme(scheme) else { throw MPPWireError(.malformedHeader, "not the Payment scheme") }
        let data = try Base64URL.decodeJSONObject(
            String(Substring(trimmed(scheme.dropFirst(8)))), maxLength: maxAuthorizationLength)
        guard let echo = data["challenge"] else { throw MPPWireError(.missingParameter, "no challenge") }
        guard let payload = data["payload"] else { throw MPPWireError(.missingParameter, "no payload") }
        guard let fields = echo.objectValue else { throw MPPWireError(.invalidJSON, "challenge is not an object") }
        func string(_ name: String) throws(MPPWireError) -> String? {
            switch fields[name] {
            case nil, .null: return nil
            case .string(let value): return value
            default: throw MPPWireError(.invalidJSON, "challenge \(name) is not a string")
            }
        }
        // Absent and empty optional members read alike, as in pympp.
        func optional(_ name: String) throws(MPPWireError) -> String? { try string(name).flatMap { $0.isEmpty ? nil : $0 } }
        guard let id = try string("id") else { throw MPPWireError(.missingParameter, "no challenge id") }
        let method = try string("method") ?? ""
        try PaymentChallenge.validateMethod(method)
        let description = try string("description")
        if let description {
            let forbidden = description.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }
            guard !forbidden else { throw MPPWireError(.invalidParameter, "control characters in description") }
        }
        let challenge = PaymentChallenge(
            id: id, realm: try string("realm") ?? "", method: method, intent: try string("intent") ?? "",
            request: try string("request") ?? "", expires: try optional("expires"), digest: try optional("digest"),
            description: description, opaque: try optional("opaque"),
            header: try PaymentChallenge.validatedHeader(try optional("header")))
        let source: String?
        switch data["source"] {
        case .string(let value) where !value.isEmpty: source = value
        case nil, .null, .string: source = nil
        default: throw MPPWireError(.invalidJSON, "source is not a string")
        }
        return PaymentCredential(challenge: challenge, payload: payload, source: source)
    }

    /// Without the optional whitespace (space, tab) around a header element.
    private static func trimmed(_ text: Substring.UTF8View) -> Substring.UTF8View {
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else {
            return text[text.endIndex...]
        }
        return text[first...last]
    }

    /// Whether an element starts with the scheme name `Payment` (any case) and a space.
    private static func isPaymentScheme(_ text: Substring.UTF8View) -> Bool {
        guard text.count > 8 else { return false }
        for (byte, expected) in zip(text, "payment ".utf8) {
            let folded = expected == UInt8(ascii: " ") ? byte : byte | 0x20
            guard folded == expected else { return false }
        }
        return true
    }

    /// The header value, `Payment <base64url_nopad(JCS(credential))>`.
    public func authorization() throws(MPPWireError) -> String {
        var members: [String: JSONValue] = ["challenge": challenge.echo, "payload": payload]
        if let source { members["source"] = .string(source) }
        return "Payment " + (try JCS.base64URL(.object(members)))
    }
}
