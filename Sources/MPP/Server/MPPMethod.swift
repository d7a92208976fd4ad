import Foundation

/// A payment method and intent a route can offer (`tempo/charge`, `stripe/charge`, `evm/charge`,
/// `tempo/session`): it verifies a credential's proof and takes the payment.
///
/// The server has already checked everything the challenge binds before calling
/// ``pay(_:)``: the id is one of its own (HMAC), the realm, method and intent are the offer's,
/// the echoed `request` is byte for byte the one the route issues now, the opaque scope is the
/// route's, the body digest matches, and the challenge has not expired. A method checks its own
/// proof against ``MPPPayment/request`` (never against anything the client sent besides the proof)
/// and is responsible for its replay rule: a charge reserves its proof with
/// ``MPPPayment/proofs`` before it settles; a session's monotonic vouchers are their own rule.
public protocol MPPMethod: Sendable {
    /// The method id of the challenges, e.g. `tempo`.
    var method: String { get }
    /// The intent, e.g. `charge` or `session`.
    var intent: String { get }
    /// Verifies the proof and takes the payment.
    /// - Throws: ``PaymentProblem`` with the spec's code: `verification-failed` or `invalid-payload`
    ///   for a bad proof (402, with a fresh challenge), `credential-replayed` (403), `payment-action-required`,
    ///   `internal-payment-error` (500) when the outcome is unknown after money may have moved.
    func pay(_ payment: MPPPayment) async throws(PaymentProblem) -> MPPPaid
}

/// What a method is asked to verify and settle.
public struct MPPPayment: Sendable {
    /// The credential; its challenge is verified.
    public var credential: PaymentCredential
    /// The credential's payload object.
    public var payload: [String: JSONValue]
    /// The request object the route issues for this offer (decoded from the bound `request`).
    public var request: [String: JSONValue]
    /// The route's scope, `GET /paid` (the router's path), for references and logs.
    public var scope: String
    /// The merchant's revenue account of the route, as the ledger names it.
    public var merchantAccount: String
    /// Single-use reservations of proofs, in PostgreSQL.
    public var proofs: MPPProofStore
    /// Whether the request will be answered by a handler (false for `HEAD`): a method may take
    /// management actions then, but never charge for content that is not served.
    public var servesContent: Bool

    public init(
        credential: PaymentCredential, payload: [String: JSONValue], request: [String: JSONValue], scope: String,
        merchantAccount: String, proofs: MPPProofStore, servesContent: Bool
    ) {
        self.credential = credential
        self.payload = payload
        self.request = request
        self.scope = scope
        self.merchantAccount = merchantAccount
        self.proofs = proofs
        self.servesContent = servesContent
    }

    /// The challenge the credential answers.
    public var challenge: PaymentChallenge { credential.challenge }
}

/// What a method's ``MPPMethod/pay(_:)`` decided.
public enum MPPPaid: Sendable {
    /// Paid: run the handler and attach the receipt and these headers to its response.
    case serve(PaymentReceipt, headers: [String: String] = [:])
    /// A management credential (a session's top-up or close): answer `204` with the receipt and
    /// these headers, without running the handler.
    case managed(PaymentReceipt, headers: [String: String] = [:])
}
