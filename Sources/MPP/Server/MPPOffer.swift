/// One way a route can be paid: a method and the request object its challenge carries
/// (`amount`, `currency`, `recipient`, `methodDetails`, … as the method's spec defines them).
public struct MPPOffer: Sendable {
    public var method: any MPPMethod
    /// The method's request object; encoded with JCS into the challenge and bound by its id.
    public var request: [String: JSONValue]
    /// The challenge's `description` (not bound).
    public var description: String?

    public init(method: any MPPMethod, request: [String: JSONValue], description: String? = nil) {
        self.method = method
        self.request = request
        self.description = description
    }
}
