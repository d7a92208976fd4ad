import CardRail
import Foundation
import Ledger
import Logging
import MPP
import RailKit

/// MPP's `stripe/charge` (spec §3.2; pympp `mpp/methods/stripe`): the buyer pays with a
/// single-use Shared Payment Token, and the seller charges it through the card rail as one
/// PaymentIntent, confirmed at once and captured before the resource is served.
///
/// The challenge's request is `{"amount": "<minor units>", "currency": "usd", "methodDetails":
/// {"networkId": "<seller profile>", "paymentMethodTypes": ["card"]}}` (plus `externalId` and
/// `methodDetails.metadata` when the offer has them); the credential's payload is `{"spt": "spt_…"}`.
///
/// What it does with a credential, in order:
/// 1. reserves the token (and the challenge) in `settle.mpp_proofs`: a second use is a 403;
/// 2. reads the token: one that is not `active`, or was granted to another seller (its
///    `seller_details.network_id` is not ``networkID``), is refused before any charge;
/// 3. creates the PaymentIntent with `confirm=true`, the token, and the idempotency key
///    `mpp_{challengeId}_{spt}`, so a retried call can never charge twice;
/// 4. serves only when the intent `succeeded`; `requires_action` is `payment-action-required`,
///    and the same credential sent again once the buyer acted completes that intent (no new charge);
///    the processor's refusals (a declined card, a token over its limit or in another currency)
///    are `verification-failed`, and give the reservation back since nothing moved.
///
/// The intent's metadata names the account its captured amount funds (`settle_wallet`): the card
/// rail books the charge, its fee and its payout from the processor's events, as every card payment.
public struct StripeChargeMethod: MPPMethod {
    public var method: String { "stripe" }
    public var intent: String { "charge" }

    /// The card rail the PaymentIntents are created on.
    public let rail: CardRail
    /// The seller's Business Network profile id (`methodDetails.networkId`): tokens are granted to it.
    public let networkID: String
    /// The payment method types offered (`methodDetails.paymentMethodTypes`).
    public let paymentMethodTypes: [String]
    /// The ledger account the captured amount funds; nil: the route's merchant account. It must be
    /// an account of the rail's asset for the currency.
    public let revenueAccount: AccountID?
    public let logger: Logger

    /// - Parameters:
    ///   - rail: The card rail (its processor: `settle cardmock` or the real one).
    ///   - networkID: The seller's profile id, sent in every challenge.
    ///   - paymentMethodTypes: Default `["card"]`.
    ///   - revenueAccount: Where the money is booked; nil: each route's merchant account.
    public init(
        rail: CardRail, networkID: String, paymentMethodTypes: [String] = ["card"], revenueAccount: AccountID? = nil,
        logger: Logger = Logger(label: "settle.mpp.stripe")
    ) {
        self.rail = rail
        self.networkID = networkID
        self.paymentMethodTypes = paymentMethodTypes
        self.revenueAccount = revenueAccount
        self.logger = logger
    }

    /// The offer of a charge of `amount` minor units of `currency`.
    /// - Parameters:
    ///   - externalId: The merchant's reference, bound into the challenge; clients echo it.
    ///   - metadata: `methodDetails.metadata`, also stored on the PaymentIntent.
    public func offer(
        amount: Int64, currency: String = "usd", externalId: String? = nil, metadata: [String: String]? = nil,
        description: String? = nil
    ) -> MPPOffer {
        var details: [String: MPP.JSONValue] = [
            "networkId": .string(networkID), "paymentMethodTypes": .array(paymentMethodTypes.map { .string($0) }),
        ]
        if let metadata { details["metadata"] = .object(metadata.mapValues { .string($0) }) }
        var request: [String: MPP.JSONValue] = [
            "amount": .string(String(amount)), "currency": .string(currency.lowercased()), "methodDetails": .object(details),
        ]
        if let externalId { request["externalId"] = .string(externalId) }
        return MPPOffer(method: self, request: request, description: description)
    }

    public func pay(_ payment: MPPPayment) async throws(PaymentProblem) -> MPPPaid {
        let terms = try StripeChargeTerms(payment.request)
        let challengeID = payment.challenge.id
        guard let wallet = revenueAccount ?? (try? AccountID(payment.merchantAccount)) else {
            throw PaymentProblem(.internalPaymentError, detail: "The route's revenue account is not a ledger account; nothing was charged.")
        }
        guard let spt = payment.payload["spt"]?.stringValue, Self.isTokenID(spt) else {
            throw PaymentProblem(.invalidPayload, detail: "The payload's spt is not a shared payment token id.")
        }
        if let externalId = terms.externalId, payment.payload["externalId"] != .string(externalId) {
            throw PaymentProblem(.invalidChallenge, detail: "The credential's externalId does not match the challenge's.")
        }
        let proof = "stripe:spt:" + spt
        do {
            try await payment.proofs.reserve(proof: proof, challengeID: challengeID, method: method, intent: intent)
        } catch  where error.code == .credentialReplayed {
            // The same credential again after the buyer's action (3-D Secure): complete that intent.
            guard let waiting = await payment.proofs.awaitingAction(proof: proof), waiting.challengeID == challengeID else { throw error }
            return try await afterAction(intent: waiting.reference, proof: proof, terms: terms, payment: payment)
        }

        // The token must be this seller's and usable: refused before a PaymentIntent exists.
        let read: Result<CardRail.SharedPaymentToken, ProcessorRefusal>
        do {
            read = try await rail.sharedPaymentToken(spt)
        } catch {
            await payment.proofs.release(proof: proof)
            logger.error("shared payment token not read", metadata: ["error": "\(error)"])
            throw PaymentProblem(.internalPaymentError, detail: "The card processor could not be reached; nothing was charged.")
        }
        let token: CardRail.SharedPaymentToken
        switch read {
        case .success(let found): token = found
        case .failure(let refusal):
            await payment.proofs.release(proof: proof)
            throw PaymentProblem(.verificationFailed, detail: "The shared payment token is not known to the processor (\(refusal.status)).")
        }
        guard token.status == "active" else {
            await payment.proofs.release(proof: proof)
            throw PaymentProblem(.verificationFailed, detail: "The shared payment token is \(token.status).")
        }
        guard token.networkID == networkID else {
            await payment.proofs.release(proof: proof)
            throw PaymentProblem(.verificationFailed, detail: "The shared payment token was granted to another seller.")
        }

        var metadata = terms.metadata
        metadata["mpp_challenge_id"] = challengeID
        let outcome: CardRail.SharedTokenCharge
        do {
            outcome = try await rail.charge(
                sharedPaymentToken: spt, amount: terms.amount, currency: terms.currency, paymentMethodTypes: terms.paymentMethodTypes,
                wallet: wallet, metadata: metadata, idempotencyKey: "mpp_\(challengeID)_\(spt)")
        } catch {
            // The intent may exist and be captured: keep the reservation, tell the client not to retry.
            logger.error("shared payment token charge outcome unknown", metadata: ["challenge": "\(challengeID)", "error": "\(error)"])
            throw PaymentProblem(.internalPaymentError, detail: "The card charge's outcome is not known.")
        }
        switch outcome {
        case .succeeded(let intent):
            return await served(intent, proof: proof, terms: terms, payment: payment)
        case .requiresAction(let intent):
            // The buyer may still complete it: the token stays spent and the reservation kept, with
            // the intent to ask about when the same credential comes back.
            do {
                try await payment.proofs.awaitAction(proof: proof, reference: intent.id)
            } catch {
                logger.warning("mpp proof not marked awaiting action", metadata: ["intent": "\(intent.id)", "error": "\(error)"])
            }
            throw PaymentProblem(
                .paymentActionRequired,
                detail: "The card requires the buyer's action (PaymentIntent \(intent.id)); send the same credential again once done.")
        case .undecided(let intent):
            throw PaymentProblem(
                .internalPaymentError, detail: "The PaymentIntent \(intent.id) is \(intent.status); its outcome is not known yet.")
        case .refused(let refusal):
            await payment.proofs.release(proof: proof)
            throw PaymentProblem(.verificationFailed, detail: "The card processor refused the payment: \(refusal).")
        }
    }

    /// The intent succeeded: the proof is settled and the resource served with its receipt.
    private func served(
        _ intent: CardRail.IntentState, proof: String, terms: StripeChargeTerms, payment: MPPPayment
    ) async -> MPPPaid {
        do {
            try await payment.proofs.settled(proof: proof, reference: intent.id)
        } catch {
            // The money moved and the reservation still blocks a replay: serve.
            logger.warning("mpp proof not marked settled", metadata: ["intent": "\(intent.id)", "error": "\(error)"])
        }
        let receipt = PaymentReceipt(
            method: method, timestamp: ChallengeExpiry.format(Date()), reference: intent.id, externalId: terms.externalId)
        return .serve(receipt)
    }

    /// A credential sent again after the buyer's action: the intent it created decides, no new
    /// charge is made. Succeeded: served; still waiting: the same problem; failed or canceled:
    /// refused, and the reservation given back since nothing was captured.
    private func afterAction(
        intent id: String, proof: String, terms: StripeChargeTerms, payment: MPPPayment
    ) async throws(PaymentProblem) -> MPPPaid {
        let outcome: CardRail.SharedTokenCharge
        do {
            outcome = try await rail.sharedTokenCharge(paymentIntent: id)
        } catch {
            logger.error("payment intent not read after the buyer's action", metadata: ["intent": "\(id)", "error": "\(error)"])
            throw PaymentProblem(.internalPaymentError, detail: "The card processor could not be reached; send the credential again.")
        }
        switch outcome {
        case .succeeded(let intent):
            return await served(intent, proof: proof, terms: terms, payment: payment)
        case .requiresAction(let intent):
            throw PaymentProblem(.paymentActionRequired, detail: "The card still requires the buyer's action (PaymentIntent \(intent.id)).")
        case .undecided(let intent) where ["canceled", "requires_payment_method"].contains(intent.status):
            await payment.proofs.release(proof: proof)
            throw PaymentProblem(
                .verificationFailed,
                detail: "The buyer's action did not complete the payment (PaymentIntent \(intent.id) is \(intent.status)).")
        case .undecided(let intent):
            throw PaymentProblem(
                .internalPaymentError, detail: "The PaymentIntent \(intent.id) is \(intent.status); its outcome is not known yet.")
        case .refused(let refusal):
            throw PaymentProblem(.internalPaymentError, detail: "The card processor does not answer for the PaymentIntent: \(refusal).")
        }
    }

    /// `spt_` and an id's characters, bounded so the proof fits its column.
    static func isTokenID(_ text: String) -> Bool {
        text.hasPrefix("spt_") && text.utf8.count <= 255
            && text.utf8.allSatisfy {
                $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || (48...57).contains($0) || (65...90).contains($0)
                    || (97...122).contains($0)
            }
    }
}
