import HTTPTypes

/// A route paid with MPP: the router path it charges for, the methods, its offers (one challenge
/// each in a 402) and the ledger account its revenue goes to.
public struct MPPRoute: Sendable {
    /// The route as registered with the router (`/paid/joke`, `/reports/{id}`); nil: every endpoint
    /// behind the middleware. It is bound into every challenge (the opaque `scope`), so a credential
    /// for one route never pays for another with the same price.
    public var path: String?
    /// The HTTP methods it charges for. `HEAD` is priced as `GET`.
    public var methods: Set<HTTPRequest.Method>
    public var offers: [MPPOffer]
    /// The merchant's revenue account.
    public var merchantAccount: String
    /// Bind the request body into the challenge (`digest`), so a credential pays for this body only.
    public var bindsBody: Bool

    public init(
        path: String?, methods: Set<HTTPRequest.Method> = [.get, .post, .put, .patch, .delete], offers: [MPPOffer],
        merchantAccount: String, bindsBody: Bool = false
    ) {
        self.path = path
        self.methods = methods
        self.offers = offers
        self.merchantAccount = merchantAccount
        self.bindsBody = bindsBody
    }
}
