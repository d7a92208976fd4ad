import Crypto
import Foundation

/// The `Payment` scheme's server, independent of the transport (HTTP middleware, MCP): it issues a
/// route's challenges and decides what a credential buys.
///
/// A credential is checked in the spec's order before any method sees it: the challenge id is one
/// of ours (HMAC, any current secret), the realm is ours, the method is offered on the route (else
/// `method-unsupported`), the echoed `request` is exactly what the route issues now, the opaque
/// scope is this route's, the body digest matches, and it has not expired. Only then does the
/// method verify its proof and take the payment.
public struct MPPServer: Sendable {
    public let configuration: MPPServerConfiguration
    public let proofs: MPPProofStore

    public init(configuration: MPPServerConfiguration, proofs: MPPProofStore) {
        self.configuration = configuration
        self.proofs = proofs
    }

    /// What a credential (or its absence) gets.
    public enum Decision: Sendable {
        /// 402: the problem and fresh challenges to pay with.
        case challenge(PaymentProblem, [PaymentChallenge])
        /// A refusal without a challenge (403 replay, 400, 500): paying again would not help.
        case refuse(PaymentProblem)
        /// Paid, or a management action was taken.
        case paid(MPPPaid)
    }

    /// The opaque member that binds a challenge to its route.
    static let scopeKey = "scope"
    /// The opaque member that makes every challenge id unique (pympp's name).
    static let nonceKey = "_mpp_nonce"

    /// Fresh challenges for every offer of `route`.
    /// - Parameters:
    ///   - scope: `METHOD /route` as the router matched it.
    ///   - body: The request body, bound when the route binds bodies.
    public func challenges(for route: MPPRoute, scope: String, body: Data?) throws(MPPWireError) -> [PaymentChallenge] {
        let expires = ChallengeExpiry.format(configuration.now().addingTimeInterval(Self.seconds(configuration.challengeLifetime)))
        let digest = route.bindsBody ? BodyDigest.of(body ?? Data()) : nil
        var challenges: [PaymentChallenge] = []
        for offer in route.offers {
            let nonce = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).map { String(format: "%02x", $0) }.joined() }
            challenges.append(
                try PaymentChallenge.issue(
                    secrets: configuration.secrets, realm: configuration.realm, method: offer.method.method,
                    intent: offer.method.intent, request: offer.request, expires: expires, digest: digest,
                    description: offer.description, opaque: [Self.scopeKey: scope, Self.nonceKey: nonce],
                    header: configuration.credentialHeader))
        }
        return challenges
    }

    /// Decides what `credential` buys on `route`.
    /// - Parameters:
    ///   - credential: The request's credential; nil when it carries none.
    ///   - servesContent: False for `HEAD`: management actions only.
    public func authorize(
        _ credential: PaymentCredential?, route: MPPRoute, scope: String, body: Data?, servesContent: Bool
    ) async -> Decision {
        guard let credential else {
            return challenge(PaymentProblem(.paymentRequired, detail: "Payment is required."), route, scope, body)
        }
        let echoed = credential.challenge
        let id = echoed.id
        guard configuration.secrets.issued(echoed), echoed.realm == configuration.realm else {
            return challenge(
                PaymentProblem(.invalidChallenge, detail: "Challenge \"\(id)\" was not issued by this server.", challengeId: id),
                route, scope, body)
        }
        guard route.offers.contains(where: { $0.method.method == echoed.method }) else {
            return .refuse(
                PaymentProblem(.methodUnsupported, detail: "Method \"\(echoed.method)\" is not accepted on this route.", challengeId: id))
        }
        // Several offers may share a method and intent (two currencies): the echoed request picks one.
        guard
            let offer = route.offers.first(where: {
                $0.method.method == echoed.method && $0.method.intent == echoed.intent && $0.encodedRequest == echoed.request
            }),
            let opaque = try? echoed.opaqueObject(), opaque[Self.scopeKey] == .string(scope)
        else {
            return challenge(
                PaymentProblem(
                    .invalidChallenge, detail: "Challenge \"\(id)\" is not for this route or its current terms.", challengeId: id),
                route, scope, body)
        }
        if route.bindsBody {
            guard let digest = echoed.digest, BodyDigest.matches(digest, body: body ?? Data()) else {
                return challenge(
                    PaymentProblem(.invalidChallenge, detail: "Challenge \"\(id)\" was issued for another request body.", challengeId: id),
                    route, scope, body)
            }
        }
        do {
            try ChallengeExpiry.check(echoed, now: configuration.now())
        } catch {
            return challenge(error, route, scope, body)
        }
        guard let payload = credential.payload.objectValue else {
            return challenge(
                PaymentProblem(.invalidPayload, detail: "The credential's payload is not an object.", challengeId: id), route, scope, body)
        }
        let payment = MPPPayment(
            credential: credential, payload: payload, request: offer.request, scope: scope, merchantAccount: route.merchantAccount,
            proofs: proofs, servesContent: servesContent)
        do {
            return .paid(try await offer.method.pay(payment))
        } catch {
            var problem = error
            if problem.challengeId == nil { problem.challengeId = id }
            return problem.code.carriesChallenge ? challenge(problem, route, scope, body) : .refuse(problem)
        }
    }

    private func challenge(_ problem: PaymentProblem, _ route: MPPRoute, _ scope: String, _ body: Data?) -> Decision {
        do {
            return .challenge(problem, try challenges(for: route, scope: scope, body: body))
        } catch {
            // A route whose terms cannot be encoded is misconfigured: refuse rather than serve.
            return .refuse(PaymentProblem(.internalPaymentError, detail: "The route's payment terms cannot be encoded: \(error.message)."))
        }
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        TimeInterval(duration.components.seconds) + TimeInterval(duration.components.attoseconds) / 1e18
    }
}
