import Foundation
import Ledger
import RailKit

/// Charges paid with a buyer's Shared Payment Token (`spt_…`, MPP's `stripe/charge`): one
/// PaymentIntent per charge, created and confirmed with the token. Like every card payment it is
/// booked from the processor's events, never here: the intent's `settle_wallet` metadata names the
/// account its captured amount funds (the merchant's revenue), and its fee and payout follow from
/// its balance transactions.
extension CardRail {
    /// A shared payment token as the processor describes it to the seller it was granted to.
    public struct SharedPaymentToken: Sendable, Hashable {
        public var id: String
        /// `active`, `used`, `expired` or `deactivated`.
        public var status: String
        /// The seller (Business Network profile) the buyer granted it to.
        public var networkID: String?
        public var currency: String?
        /// The most it may pay, in minor units.
        public var maxAmount: Int64?
        /// Unix seconds.
        public var expiresAt: Int64?
    }

    /// What the processor did with a charge paid by a shared payment token.
    public enum SharedTokenCharge: Sendable, Hashable {
        /// Captured: the money moved.
        case succeeded(IntentState)
        /// The card asks for the buyer's action (3-D Secure); nothing is captured unless they act.
        case requiresAction(IntentState)
        /// Neither captured nor refused (e.g. `processing`): it may still move.
        case undecided(IntentState)
        /// Refused (a decline, a token spent, expired, deactivated or over its limits): nothing moved.
        case refused(ProcessorRefusal)
    }

    /// Reads a shared payment token granted to this seller.
    /// - Returns: The refusal when the processor does not know it (404) or refuses to show it.
    /// - Throws: ``RailError`` when the processor cannot be asked.
    public func sharedPaymentToken(_ id: String) async throws(RailError) -> Result<SharedPaymentToken, ProcessorRefusal> {
        let escaped = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["_", "-"])) ?? id
        switch try await processor.getAnswer("/v1/shared_payment/granted_tokens/\(escaped)", as: GrantedToken.self) {
        case .refused(let refusal): return .failure(refusal)
        case .answered(let token):
            return .success(
                SharedPaymentToken(
                    id: token.id, status: token.status, networkID: token.sellerDetails?.networkID, currency: token.usageLimits?.currency,
                    maxAmount: token.usageLimits?.maxAmount, expiresAt: token.usageLimits?.expiresAt))
        }
    }

    /// Charges `amount` minor units of `currency` to a shared payment token: a PaymentIntent
    /// created with `confirm=true`, captured automatically, whose captured amount funds `wallet`.
    ///
    /// - Parameters:
    ///   - metadata: Stored on the intent besides `settle_wallet` and `settle_mode` (which it
    ///     cannot override).
    ///   - idempotencyKey: The same key makes a retried call return the first call's outcome.
    /// - Throws: ``RailError`` when the outcome is not known (transport, 5xx, 409, an answer that
    ///   does not decode): the intent may exist and may have been captured.
    public func charge(
        sharedPaymentToken token: String, amount: Int64, currency: String, paymentMethodTypes: [String], wallet: AccountID,
        metadata: [String: String] = [:], idempotencyKey: String
    ) async throws(RailError) -> SharedTokenCharge {
        guard assets[currency] != nil else { throw RailError(.invalidConfiguration, "rail \(descriptor.id) takes no \(currency)") }
        guard amount > 0 else { throw RailError(.invalidEvent, "amount must be positive") }
        var parameters: [(String, String)] = [
            ("amount", String(amount)), ("currency", currency), ("confirm", "true"), ("capture_method", "automatic"),
            ("shared_payment_granted_token", token),
        ]
        for (index, type) in paymentMethodTypes.enumerated() { parameters.append(("payment_method_types[\(index)]", type)) }
        var tags = metadata
        tags["settle_wallet"] = wallet.rawValue
        tags["settle_mode"] = "shared_token"
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) { parameters.append(("metadata[\(key)]", value)) }
        switch try await processor.postAnswer("/v1/payment_intents", parameters, idempotencyKey: idempotencyKey, as: ProcessorObject.self) {
        case .refused(let refusal): return .refused(refusal)
        case .answered(let object): return Self.outcome(object)
        }
    }

    /// Where a shared-token PaymentIntent stands now: after the buyer's action (3-D Secure), the
    /// intent a `requiresAction` answer named has succeeded, failed or still waits.
    /// - Throws: ``RailError`` when the processor cannot be asked.
    public func sharedTokenCharge(paymentIntent id: String) async throws(RailError) -> SharedTokenCharge {
        switch try await processor.getAnswer("/v1/payment_intents/\(id)", as: ProcessorObject.self) {
        case .refused(let refusal): return .refused(refusal)
        case .answered(let object): return Self.outcome(object)
        }
    }

    private static func outcome(_ object: ProcessorObject) -> SharedTokenCharge {
        let state = IntentState(
            id: object.id, status: object.status ?? "", amount: object.amount ?? 0, amountCapturable: object.amountCapturable ?? 0,
            amountReceived: object.amountReceived ?? 0)
        switch state.status {
        case "succeeded": return .succeeded(state)
        case "requires_action": return .requiresAction(state)
        default: return .undecided(state)
        }
    }
}

/// The fields of `shared_payment.granted_token` the rail reads.
private struct GrantedToken: Decodable, Sendable {
    struct Limits: Decodable, Sendable {
        var currency: String?
        var maxAmount: Int64?
        var expiresAt: Int64?

        enum CodingKeys: String, CodingKey {
            case currency
            case maxAmount = "max_amount"
            case expiresAt = "expires_at"
        }
    }

    struct Seller: Decodable, Sendable {
        var networkID: String?

        enum CodingKeys: String, CodingKey { case networkID = "network_id" }
    }

    var id: String
    var status: String
    var usageLimits: Limits?
    var sellerDetails: Seller?

    enum CodingKeys: String, CodingKey {
        case id, status
        case usageLimits = "usage_limits"
        case sellerDetails = "seller_details"
    }
}
