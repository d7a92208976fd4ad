/// One way a route can be paid: a method and the request object its challenge carries
/// (`amount`, `currency`, `recipient`, `methodDetails`, … as the method's spec defines them).
public struct MPPOffer: Sendable {
    public let method: any MPPMethod
    /// The method's request object; encoded with JCS into the challenge and bound by its id.
    public let request: [String: JSONValue]
    /// The challenge's `description` (not bound).
    public let description: String?
    /// `request` as challenges carry it (JCS, base64url), compared with a credential's echo; nil
    /// when it cannot be encoded (the route then refuses rather than serves).
    let encodedRequest: String?

    public init(method: any MPPMethod, request: [String: JSONValue], description: String? = nil) {
        self.method = method
        self.request = request
        self.description = description
        encodedRequest = try? JCS.base64URL(.object(request))
    }
}
