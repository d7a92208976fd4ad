import Crypto
import EVM
import Foundation
import Ledger

/// x402's `upto` scheme on EVM (Permit2 through `x402UptoPermit2Proxy`): the client signs a
/// maximum, the resource server settles what the handler charged, at most that.
///
/// `/verify` binds the payment with `requirements.amount` equal to the permitted maximum;
/// `/settle` with `requirements.amount` the amount to settle (≤ the maximum; 0 settles nothing and
/// sends no transaction). The checks and their codes follow the SDK's `verify_upto_permit2`:
/// scheme, network, spender (the proxy), recipient (`payTo`, a configured merchant's), facilitator
/// (this one's signer), amount, token, then the deadline, `validAfter` and the signature in
/// Permit2's domain; on chain the nonce, the payer's balance and allowance to Permit2, and a
/// simulation of the proxy's `settle`.
extension X402Facilitator {
    /// The scheme's name on the wire.
    public static let upto = "upto"

    /// The kind `/supported` lists per network: `extra.facilitatorAddress` is the address the
    /// client must name in its witness, the only one the proxy lets settle.
    func uptoKind(network: String) -> SupportedResponse.Kind {
        .init(x402Version: 2, scheme: Self.upto, network: network, extra: ["facilitatorAddress": .string(signerAddress.checksummed)])
    }

    func parseUpto(_ payload: PaymentPayload, _ requirements: PaymentRequirements, settling: Bool) -> Result<CheckedPayment, Invalid> {
        let accepted = payload.accepted
        guard accepted.scheme == Self.upto, requirements.scheme == Self.upto else {
            return .failure(Invalid(.uptoInvalidScheme, "both the payment and the requirements must be upto"))
        }
        guard accepted.network == requirements.network else {
            return .failure(Invalid(.uptoNetworkMismatch, "the payment is for \(accepted.network), not \(requirements.network)"))
        }
        let network = requirements.network
        let (token, domain): (X402Token, TokenDomain)
        switch configuredToken(requirements, notEIP155: .uptoFailedToGetNetworkConfig) {
        case .failure(let invalid): return .failure(invalid)
        case .success(let found): (token, domain) = found
        }
        guard (1...configuration.maxTimeoutSeconds).contains(requirements.maxTimeoutSeconds) else {
            return .failure(Invalid(.invalidPaymentRequirements, "maxTimeoutSeconds must be 1...\(configuration.maxTimeoutSeconds)"))
        }
        let upto: UptoPermit2Payload
        do {
            upto = try JSONDecoder().decode(UptoPermit2Payload.self, from: X402HeaderCodec.json(payload.payload))
        } catch {
            return .failure(Invalid(.invalidPayload, "the payload is not a Permit2 authorization with a signature"))
        }
        let a = upto.permit2Authorization
        guard let from = try? Address(a.from) else { return .failure(Invalid(.permit2PayloadFormat, "from is not an address")) }
        let payer = from.checksummed
        func refuse(_ reason: X402Reason, _ message: String) -> Result<CheckedPayment, Invalid> {
            .failure(Invalid(reason, message, payer: payer))
        }
        guard (try? Address(a.spender)) == Permit2.uptoProxy else {
            return refuse(.permit2InvalidSpender, "the spender must be the upto proxy")
        }
        guard let payTo = try? Address(requirements.payTo) else { return refuse(.invalidPaymentRequirements, "payTo is not an address") }
        guard let to = try? Address(a.witness.to), to == payTo else {
            return refuse(.permit2RecipientMismatch, "the witness pays \(a.witness.to), not \(payTo)")
        }
        guard configuration.merchant(for: payTo) != nil else {
            return refuse(.permit2RecipientMismatch, "\(payTo) is not a payTo this facilitator settles for")
        }
        guard let facilitator = try? Address(a.witness.facilitator), facilitator == signerAddress else {
            return refuse(.uptoFacilitatorMismatch, "the witness names facilitator \(a.witness.facilitator), not \(signerAddress)")
        }
        guard let maximum = try? EVM.UInt256(decimal: a.permitted.amount), let nonce = try? EVM.UInt256(decimal: a.nonce),
            let deadline = try? EVM.UInt256(decimal: a.deadline), let validAfter = try? EVM.UInt256(decimal: a.witness.validAfter),
            let amount = try? EVM.UInt256(decimal: requirements.amount), let offered = try? EVM.UInt256(decimal: accepted.amount)
        else { return refuse(.permit2PayloadFormat, "the permit or the requirements have malformed numbers") }
        guard !maximum.isZero else { return refuse(.invalidPaymentRequirements, "the permitted maximum must be greater than zero") }
        // The permitted maximum is the offer the client accepted; /verify asks for exactly it,
        // /settle for the amount to charge, never more.
        guard maximum == offered else { return refuse(.permit2AmountMismatch, "the permit is for \(maximum), the offer for \(offered)") }
        if settling {
            guard amount <= maximum else {
                return refuse(.uptoSettlementExceedsAmount, "settling \(amount) exceeds the permitted \(maximum)")
            }
        } else {
            guard amount == maximum else { return refuse(.permit2AmountMismatch, "the permit is for \(maximum), the price is \(amount)") }
        }
        guard (try? Address(a.permitted.token)) == token.address else {
            return refuse(.permit2TokenMismatch, "the permit is for token \(a.permitted.token), not \(token.address)")
        }
        guard accepted.network == requirements.network, accepted.asset.lowercased() == requirements.asset.lowercased(),
            accepted.payTo.lowercased() == requirements.payTo.lowercased()
        else { return refuse(.invalidPaymentRequirements, "the accepted offer differs from this resource's requirements") }
        guard let signature = try? Signature(hex: upto.signature) else {
            return refuse(.permit2InvalidSignature, "the signature is not 65 valid bytes")
        }
        guard let ledgerAmount = Ledger.UInt256(decimal: amount.description) else { return refuse(.invalidPayload, "amount out of range") }
        let permit = UptoPermit(
            from: from, token: token.address, amount: maximum, nonce: nonce, deadline: deadline, to: to, facilitator: facilitator,
            validAfter: validAfter)
        // What one settlement is: the accepted offer, the signed permit and the amount charged.
        // Another amount for the same permit is another settlement of a single-use nonce.
        struct Canonical: Encodable {
            var accepted: PaymentRequirements
            var signature: String
            var permit: [String]
            var amount: String
        }
        let canonical = X402HeaderCodec.json(
            Canonical(
                accepted: accepted, signature: upto.signature.lowercased(),
                permit: [
                    from.lowercased, token.address.lowercased, maximum.description, nonce.description, deadline.description, to.lowercased,
                    facilitator.lowercased, validAfter.description,
                ], amount: amount.description))
        let nonceWord = nonce.word
        return .success(
            CheckedPayment(
                key: PaymentKey(network: network, asset: token.address.lowercased, payer: from.lowercased, nonce: nonceWord.hex),
                token: token, domain: domain,
                authorization: TransferWithAuthorization(
                    from: from, to: to, value: amount, validAfter: validAfter, validBefore: deadline, nonce: nonceWord),
                signature: signature, network: network, requestHash: Array(SHA256.hash(data: canonical)),
                payloadJSON: String(decoding: X402HeaderCodec.json(payload), as: UTF8.self), ledgerAmount: ledgerAmount, upto: permit))
    }

    /// Whether Permit2 has the permit's nonce spent (`nonceBitmap`).
    func permit2NonceUsed(_ permit: UptoPermit) async throws -> Bool {
        let (word, bit) = Permit2.nonceSlot(permit.nonce)
        let output = try await rpc.call(
            CallRequest(to: Permit2.address, data: ABI.encodeCall("nonceBitmap(address,uint256)", [.address(permit.from), .uint(word)])))
        guard let bitmap = try ABI.decode([.uint256], from: output).first?.uint else {
            throw X402FacilitatorError("nonceBitmap returned no value")
        }
        return zip(bitmap.bigEndianBytes, bit.bigEndianBytes).contains { $0 & $1 != 0 }
    }

    /// Whether the payer let Permit2 move at least `amount` of the token.
    func permit2AllowanceCovers(_ payment: CheckedPayment) async throws -> Bool {
        let output = try await rpc.call(
            CallRequest(
                to: payment.token.address,
                data: ABI.encodeCall("allowance(address,address)", [.address(payment.authorization.from), .address(Permit2.address)])))
        guard let allowance = try ABI.decode([.uint256], from: output).first?.uint else {
            throw X402FacilitatorError("allowance returned no value")
        }
        return !(allowance < payment.authorization.value)
    }

    /// The amount a stored `upto` settlement transaction settles (its `settle` argument).
    static func uptoSettledAmount(rawTransaction: [UInt8]) -> EVM.UInt256? {
        guard let signed = try? SignedEIP1559Transaction(raw: rawTransaction), signed.transaction.data.count > 4,
            Array(signed.transaction.data.prefix(4)) == ABI.selector(UptoPermit.settleSignature)
        else { return nil }
        return UptoPermit.decodeSettle(signed.transaction.data.dropFirst(4))?.amount
    }
}
