extension PaymentChallenge {
    /// Parses every `Payment` challenge of a `WWW-Authenticate` value: one or several challenges,
    /// comma-merged as RFC 9110 allows, possibly beside other schemes (which are skipped).
    ///
    /// Auth-params are `name="quoted"` or `name=token`, names case-insensitive, unknown names
    /// ignored, a name twice in one challenge refused. Each challenge must carry a non-empty `id`,
    /// `realm`, `method` (`^[a-z][a-z0-9:_-]*$`), `intent` and `request`; `request` and `opaque`
    /// must be base64url JSON objects. `header="Authorization"` is read as no header.
    /// - Throws: ``MPPWireError`` when the value holds no `Payment` challenge or one of them is invalid.
    public static func parse(wwwAuthenticate value: String) throws(MPPWireError) -> [PaymentChallenge] {
        var challenges: [PaymentChallenge] = []
        for (scheme, params) in try authChallenges(value) where scheme.lowercased() == "payment" {
            challenges.append(try challenge(params))
        }
        guard !challenges.isEmpty else { throw MPPWireError(.malformedHeader, "no Payment challenge") }
        return challenges
    }

    private static func challenge(_ params: [String: String]) throws(MPPWireError) -> PaymentChallenge {
        func required(_ name: String) throws(MPPWireError) -> String {
            guard let value = params[name], !value.isEmpty else { throw MPPWireError(.missingParameter, "no '\(name)'") }
            return value
        }
        let challenge = PaymentChallenge(
            id: try required("id"), realm: try required("realm"), method: try required("method"),
            intent: try required("intent"), request: try required("request"), expires: params["expires"],
            digest: params["digest"], description: params["description"], opaque: params["opaque"].flatMap { $0.isEmpty ? nil : $0 },
            header: try validatedHeader(params["header"]))
        try validateMethod(challenge.method)
        _ = try challenge.requestObject()
        _ = try challenge.opaqueObject()
        return challenge
    }

    /// Splits a challenge list into (scheme, params). A token followed by `=` is a parameter of
    /// the current challenge, any other token starts a new one; token68 credentials are skipped.
    private static func authChallenges(_ value: String) throws(MPPWireError) -> [(String, [String: String])] {
        let text = Array(value.unicodeScalars)
        var index = 0
        var result: [(String, [String: String])] = []
        func skipSpace() { while index < text.count, text[index] == " " || text[index] == "\t" { index += 1 } }
        func token() -> String {
            let start = index
            while index < text.count, QuotedString.isTokenCharacter(text[index]) { index += 1 }
            return String(String.UnicodeScalarView(text[start..<index]))
        }
        while index < text.count {
            skipSpace()
            if index < text.count, text[index] == "," {
                index += 1
                continue
            }
            guard index < text.count else { break }
            let name = token()
            guard !name.isEmpty else { throw MPPWireError(.malformedHeader, "an unexpected character") }
            skipSpace()
            guard index < text.count, text[index] == "=" else {
                result.append((name, [:]))  // a scheme
                continue
            }
            // A name followed by `=`: a parameter, unless only `=`s up to the next comma (token68).
            var probe = index
            while probe < text.count, text[probe] == "=" { probe += 1 }
            var afterEquals = probe
            while afterEquals < text.count, text[afterEquals] == " " || text[afterEquals] == "\t" { afterEquals += 1 }
            if probe - index > 1 || afterEquals == text.count || text[afterEquals] == "," {
                guard !result.isEmpty else { throw MPPWireError(.malformedHeader, "a credential before any scheme") }
                index = probe  // token68 of the current scheme, skipped
                continue
            }
            index += 1
            skipSpace()
            let parameterValue: String
            if index < text.count, text[index] == "\"" {
                index += 1
                let start = index
                while index < text.count, text[index] != "\"" { index += text[index] == "\\" ? 2 : 1 }
                guard index < text.count else { throw MPPWireError(.malformedHeader, "an unterminated quoted-string") }
                parameterValue = QuotedString.unescape(Array(text[start..<index]))
                index += 1
            } else {
                parameterValue = token()
                guard !parameterValue.isEmpty else { throw MPPWireError(.malformedHeader, "a parameter without a value") }
            }
            guard !result.isEmpty else { throw MPPWireError(.malformedHeader, "a parameter before any scheme") }
            let key = name.lowercased()
            guard result[result.count - 1].1[key] == nil else {
                throw MPPWireError(.duplicateParameter, "'\(key)' twice")
            }
            result[result.count - 1].1[key] = parameterValue
            skipSpace()
            guard index == text.count || text[index] == "," else {
                throw MPPWireError(.malformedHeader, "a parameter not followed by a comma")
            }
        }
        return result
    }
}
