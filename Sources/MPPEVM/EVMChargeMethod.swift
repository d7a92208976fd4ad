import EVM
import Foundation
import Ledger
import Logging
import MPP
import X402

/// MPP's `evm/charge` (pympp `mpp/methods/evm`): the payer signs an EIP-3009
/// `transferWithAuthorization` for exactly the price, whose nonce is the challenge's hash, and
/// Settle's x402 facilitator settles it, so it is verified, sent, confirmed and booked exactly as
/// an x402 `exact` payment.
///
/// The challenge's request is pympp's: `{"amount": "<base units>", "currency": "<token>",
/// "recipient": "<payTo>", "methodDetails": {"chainId": N, "credentialTypes": ["authorization"],
/// "decimals": D}}`; the credential's payload `{"type": "authorization", "from", "to", "value",
/// "validAfter", "validBefore", "nonce", "signature"}`, every value a string.
///
/// Checked here before anything is reserved: the payload's shape, `to` is the recipient, `value`
/// the amount, `nonce` is `keccak256(JSON.stringify([challengeId, realm]))` (so one authorization
/// answers one challenge), the window is open and lasts no longer than ``maxValiditySeconds`` or
/// the challenge's expiry, and a `source` names `from` on this chain. Then the authorization is
/// reserved in `settle.mpp_proofs` (a replay is a 403) and the facilitator settles it: it checks
/// the signature in the token's configured EIP-712 domain, that the nonce is unused on chain and
/// that the balance covers it, books the hold, sends the transfer and waits for its receipt.
public struct EVMChargeMethod: MPPMethod {
    public var method: String { "evm" }
    public var intent: String { "charge" }

    /// Settles the authorizations: ``X402Facilitator`` in process, or a facilitator at a URL.
    public let facilitator: any Facilitator
    /// The token paid, with its chain and EIP-712 domain; the facilitator must settle it.
    public let token: X402Token
    /// Where payments go; the facilitator must know it as a merchant's `payTo`.
    public let recipient: Address
    /// The x402 `maxTimeoutSeconds` of the requirements handed to the facilitator.
    public let maxTimeoutSeconds: Int
    /// The longest an authorization may stay valid from now, unless the challenge expires later.
    public let maxValiditySeconds: UInt64
    /// Unix seconds now.
    public let clock: @Sendable () -> UInt64
    public let logger: Logger

    public init(
        facilitator: any Facilitator, token: X402Token, recipient: Address, maxTimeoutSeconds: Int = 300,
        maxValiditySeconds: UInt64 = 3_600, clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) },
        logger: Logger = Logger(label: "settle.mpp.evm")
    ) {
        self.facilitator = facilitator
        self.token = token
        self.recipient = recipient
        self.maxTimeoutSeconds = maxTimeoutSeconds
        self.maxValiditySeconds = maxValiditySeconds
        self.clock = clock
        self.logger = logger
    }

    /// The offer of a charge of `amount` base units of the token.
    public func offer(amount: EVM.UInt256, description: String? = nil) -> MPPOffer {
        MPPOffer(
            method: self,
            request: [
                "amount": .string(amount.description), "currency": .string(token.address.checksummed),
                "recipient": .string(recipient.checksummed),
                "methodDetails": .object([
                    "chainId": .integer(Int64(clamping: token.chainID)), "credentialTypes": .array([.string("authorization")]),
                    "decimals": .integer(Int64(token.decimals)),
                ]),
            ], description: description)
    }

    public func pay(_ payment: MPPPayment) async throws(PaymentProblem) -> MPPPaid {
        guard let price = payment.request["amount"]?.stringValue.flatMap({ try? EVM.UInt256(decimal: $0) }), !price.isZero else {
            throw PaymentProblem(.internalPaymentError, detail: "The route's evm/charge offer is malformed; nothing was charged.")
        }
        let authorization = try EVMAuthorizationPayload(payment.payload)
        try check(authorization, price: price, payment.credential)

        let proof = "evm:\(token.chainID):\(token.address.lowercased):\(authorization.from.lowercased):\(authorization.nonce.hex)"
        try await payment.proofs.reserve(proof: proof, challengeID: payment.challenge.id, method: method, intent: intent)
        let requirements = PaymentRequirements.exact(
            network: token.network, amount: price.description, asset: token.address.checksummed, payTo: recipient.checksummed,
            maxTimeoutSeconds: maxTimeoutSeconds, name: token.name, version: token.version)
        let x402 = PaymentPayload(accepted: requirements, payload: authorization.exactPayload)
        let settled: SettleResponse
        do {
            settled = try await facilitator.settle(x402, requirements: requirements)
        } catch {
            // The facilitator may have sent the transfer before failing: keep the reservation.
            logger.error("evm charge settlement outcome unknown", metadata: ["proof": "\(proof)", "error": "\(error)"])
            throw PaymentProblem(.internalPaymentError, detail: "The settlement's outcome is not known.")
        }
        if settled.success {
            do {
                try await payment.proofs.settled(proof: proof, reference: settled.transaction)
            } catch {
                logger.warning("mpp proof not marked settled", metadata: ["tx": "\(settled.transaction)", "error": "\(error)"])
            }
            return .serve(
                PaymentReceipt(method: method, timestamp: ChallengeExpiry.format(Date()), reference: settled.transaction))
        }
        if settled.isPending {
            throw PaymentProblem(
                .internalPaymentError, detail: "The transfer \(settled.transaction) was sent; its receipt is not in yet.")
        }
        let reason = settled.errorMessage ?? settled.errorReason?.rawValue ?? "settlement failed"
        if settled.transaction.isEmpty {
            // Refused before any transaction existed: nothing moved, the payer may pay again.
            await payment.proofs.release(proof: proof)
            if settled.errorReason == .unexpectedSettleError {
                throw PaymentProblem(.internalPaymentError, detail: "The payment was not settled: \(reason); nothing was charged.")
            }
        }
        throw PaymentProblem(.verificationFailed, detail: "The authorization was refused: \(reason).")
    }

    /// The checks that need no facilitator: terms, challenge binding, window, source.
    func check(_ authorization: EVMAuthorizationPayload, price: EVM.UInt256, _ credential: PaymentCredential) throws(PaymentProblem) {
        guard authorization.to == recipient else {
            throw PaymentProblem(.verificationFailed, detail: "The authorization pays \(authorization.to), not \(recipient).")
        }
        guard authorization.value == price else {
            throw PaymentProblem(.verificationFailed, detail: "The authorization is for \(authorization.value), the price is \(price).")
        }
        guard authorization.nonce == Self.challengeHash(id: credential.challenge.id, realm: credential.challenge.realm) else {
            throw PaymentProblem(.verificationFailed, detail: "The authorization's nonce is not this challenge's hash.")
        }
        let now = clock()
        guard authorization.validAfter <= EVM.UInt256(now) else {
            throw PaymentProblem(.verificationFailed, detail: "The authorization is not valid yet.")
        }
        guard authorization.validBefore > EVM.UInt256(now) else {
            throw PaymentProblem(.verificationFailed, detail: "The authorization has expired.")
        }
        var limit = now + maxValiditySeconds
        if let expires = credential.challenge.expires.flatMap(ChallengeExpiry.parse) {
            limit = max(limit, UInt64(max(0, expires.timeIntervalSince1970)))
        }
        guard authorization.validBefore <= EVM.UInt256(limit) else {
            throw PaymentProblem(.verificationFailed, detail: "The authorization is valid for too long.")
        }
        if let source = credential.source {
            guard source.lowercased() == "did:pkh:eip155:\(token.chainID):\(authorization.from.lowercased)" else {
                throw PaymentProblem(.verificationFailed, detail: "The credential's source is not the authorization's payer.")
            }
        }
    }

    /// The challenge's hash, the EIP-3009 nonce of its authorization (pympp and mppx):
    /// `keccak256(JSON.stringify([id, realm]))`. JCS writes strings exactly as `JSON.stringify`.
    public static func challengeHash(id: String, realm: String) -> Hash32 {
        let text = (try? JCS.canonicalize(.array([.string(id), .string(realm)]))) ?? Data()
        return Keccak256.hash(Array(text))
    }
}
