import Crypto
import EVM
import Foundation
import Ledger

/// A payment whose fields parsed and bind to the requirements; its window and signature are
/// checked separately (a stored settlement is answered even after its window closed).
///
/// For `upto`, ``upto`` holds the Permit2 permit and ``authorization`` the transfer its settlement
/// makes, in the same terms: owner, `witness.to`, the amount settled, `validAfter`, the deadline
/// and the Permit2 nonce as a word. Both move tokens from `from` to `to` and show the same
/// `Transfer` log, so the settlement, its row and its bookings are the same for both schemes.
struct CheckedPayment: Sendable {
    var key: PaymentKey
    var token: X402Token
    var domain: TokenDomain
    var authorization: TransferWithAuthorization
    var signature: Signature
    var network: String
    var requestHash: [UInt8]
    var payloadJSON: String
    var ledgerAmount: Ledger.UInt256
    /// When its settlement row was created (the effective time of its bookings).
    var createdAt: Double = 0
    /// The Permit2 permit of an `upto` payment; nil for `exact`.
    var upto: UptoPermit? = nil

    var payer: String { authorization.from.checksummed }

    static let transferSignature = "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)"

    /// The contract the settlement transaction calls: the token, or the upto proxy.
    var target: Address { upto == nil ? token.address : Permit2.uptoProxy }

    var calldata: [UInt8] {
        if let upto { return upto.settleCalldata(amount: authorization.value, signature: signature.bytes) }
        return ABI.encodeCall(
            Self.transferSignature,
            [
                .address(authorization.from), .address(authorization.to), .uint(authorization.value), .uint(authorization.validAfter),
                .uint(authorization.validBefore), .bytes32(authorization.nonce), .uint(UInt256(UInt64(signature.v))),
                .bytes32(signature.r), .bytes32(signature.s),
            ])
    }

    func at(_ createdAt: Double) -> CheckedPayment {
        var copy = self
        copy.createdAt = createdAt
        return copy
    }

    func invalid(_ reason: X402Reason, _ message: String) -> VerifyResponse {
        .invalid(upto == nil ? reason : reason.upto, message, payer: payer)
    }

    func failure(_ reason: X402Reason, _ message: String, transaction: String = "") -> SettleResponse {
        SettleResponse(
            success: false, errorReason: upto == nil ? reason : reason.upto, errorMessage: message, payer: payer, transaction: transaction,
            network: network)
    }
}

/// A refusal before any settlement work.
struct Invalid: Error {
    var response: VerifyResponse

    init(_ response: VerifyResponse) { self.response = response }
    init(_ reason: X402Reason, _ message: String, payer: String? = nil) {
        response = .invalid(reason, message, payer: payer)
    }

    func settleResponse(network: String) -> SettleResponse {
        SettleResponse(
            success: false, errorReason: response.invalidReason ?? .unexpectedSettleError, errorMessage: response.invalidMessage,
            payer: response.payer, transaction: "", network: network)
    }
}

extension X402Facilitator {
    /// Parses the payment and binds it to `requirements` (the resource's own, not the client's copy).
    ///
    /// - Parameter settling: for `upto`, `requirements.amount` is what to settle (at most the
    ///   permitted maximum) rather than the maximum itself.
    func parse(_ payload: PaymentPayload, _ requirements: PaymentRequirements, settling: Bool = false) -> Result<CheckedPayment, Invalid> {
        guard payload.x402Version == 2 else { return .failure(Invalid(.invalidX402Version, "x402Version must be 2")) }
        let accepted = payload.accepted
        if accepted.scheme == X402Facilitator.upto || requirements.scheme == X402Facilitator.upto {
            return parseUpto(payload, requirements, settling: settling)
        }
        guard accepted.scheme == "exact", requirements.scheme == "exact" else {
            return .failure(Invalid(.unsupportedScheme, "only the exact scheme is supported"))
        }
        guard accepted.network == requirements.network else {
            return .failure(Invalid(.networkMismatch, "the payment is for \(accepted.network), not \(requirements.network)"))
        }
        let network = requirements.network
        let (token, domain): (X402Token, TokenDomain)
        switch configuredToken(requirements, notEIP155: .invalidNetwork) {
        case .failure(let invalid): return .failure(invalid)
        case .success(let found): (token, domain) = found
        }
        guard let name = requirements.extra?["name"]?.stringValue, let version = requirements.extra?["version"]?.stringValue else {
            return .failure(Invalid(.missingEIP712Domain, "extra.name and extra.version are required"))
        }
        guard name == token.name else { return .failure(Invalid(.tokenNameMismatch, "the token's EIP-712 name is \(token.name)")) }
        guard version == token.version else {
            return .failure(Invalid(.tokenVersionMismatch, "the token's EIP-712 version is \(token.version)"))
        }
        guard (1...configuration.maxTimeoutSeconds).contains(requirements.maxTimeoutSeconds) else {
            return .failure(Invalid(.invalidPaymentRequirements, "maxTimeoutSeconds must be 1...\(configuration.maxTimeoutSeconds)"))
        }
        let exact: ExactEvmPayload
        do {
            exact = try JSONDecoder().decode(ExactEvmPayload.self, from: X402HeaderCodec.json(payload.payload))
        } catch {
            return .failure(Invalid(.invalidPayload, "the payload is not an EIP-3009 authorization with a signature"))
        }
        let a = exact.authorization
        guard let from = try? Address(a.from), let to = try? Address(a.to), let value = try? EVM.UInt256(decimal: a.value),
            let validAfter = try? EVM.UInt256(decimal: a.validAfter), let validBefore = try? EVM.UInt256(decimal: a.validBefore),
            a.nonce.utf8.count == 66, let nonce = try? Hash32(hex: a.nonce)
        else { return .failure(Invalid(.invalidPayload, "the authorization has malformed fields")) }
        let payer = from.checksummed
        guard let payTo = try? Address(requirements.payTo) else {
            return .failure(Invalid(.invalidPaymentRequirements, "payTo is not an address"))
        }
        guard to == payTo else {
            return .failure(Invalid(.recipientMismatch, "the authorization pays \(to), not \(payTo)", payer: payer))
        }
        guard configuration.merchant(for: payTo) != nil else {
            return .failure(Invalid(.recipientMismatch, "\(payTo) is not a payTo this facilitator settles for", payer: payer))
        }
        guard let amount = try? EVM.UInt256(decimal: requirements.amount) else {
            return .failure(Invalid(.invalidPaymentRequirements, "amount is not a decimal integer"))
        }
        guard amount != 0 else {
            return .failure(Invalid(.invalidPaymentRequirements, "amount must be greater than zero", payer: payer))
        }
        guard value == amount else {
            return .failure(Invalid(.valueMismatch, "the authorization is for \(value), the price is \(amount)", payer: payer))
        }
        guard accepted.sameTerms(as: requirements) else {
            return .failure(
                Invalid(.invalidPaymentRequirements, "the accepted offer differs from this resource's requirements", payer: payer))
        }
        guard let signature = try? Signature(hex: exact.signature) else {
            return .failure(Invalid(.invalidSignature, "the signature is not 65 valid bytes", payer: payer))
        }
        guard let ledgerAmount = Ledger.UInt256(decimal: value.description) else {
            return .failure(Invalid(.invalidPayload, "value out of range", payer: payer))
        }
        struct Canonical: Encodable {
            var accepted: PaymentRequirements
            var payload: ExactEvmPayload
        }
        let canonical = X402HeaderCodec.json(
            Canonical(
                accepted: accepted,
                payload: ExactEvmPayload(
                    signature: exact.signature.lowercased(),
                    authorization: .init(
                        from: from.lowercased, to: to.lowercased, value: value.description, validAfter: validAfter.description,
                        validBefore: validBefore.description, nonce: nonce.hex))))
        let authorization = TransferWithAuthorization(
            from: from, to: to, value: value, validAfter: validAfter, validBefore: validBefore, nonce: nonce)
        return .success(
            CheckedPayment(
                key: PaymentKey(network: network, asset: token.address.lowercased, payer: from.lowercased, nonce: nonce.hex), token: token,
                domain: domain, authorization: authorization, signature: signature, network: network,
                requestHash: Array(SHA256.hash(data: canonical)),
                payloadJSON: String(decoding: X402HeaderCodec.json(payload), as: UTF8.self),
                ledgerAmount: ledgerAmount))
    }

    /// The configured token of the requirements' network and asset; `notEIP155` is the scheme's
    /// reason for a network that is not `eip155:<chain id>`.
    func configuredToken(_ requirements: PaymentRequirements, notEIP155: X402Reason) -> Result<(X402Token, TokenDomain), Invalid> {
        let network = requirements.network
        guard network.hasPrefix("eip155:"), UInt64(network.dropFirst(7)) != nil else {
            return .failure(Invalid(notEIP155, "network \(network) is not an eip155 chain"))
        }
        guard let found = tokenDomain(network: network, asset: requirements.asset) else {
            if configuration.tokens.contains(where: { $0.network == network }) {
                return .failure(Invalid(.failedToGetAssetInfo, "asset \(requirements.asset) is not settled on \(network)"))
            }
            return .failure(Invalid(.invalidNetwork, "network \(network) is not supported"))
        }
        return .success(found)
    }

    /// `validBefore ≥ now + margin`, `validAfter ≤ now`, and the signature recovers to `from` in
    /// the token's configured domain.
    func checkWindowAndSignature(_ payment: CheckedPayment) -> VerifyResponse? {
        let now = configuration.clock()
        let a = payment.authorization
        if a.validBefore < EVM.UInt256(now + configuration.validityMargin) {
            return payment.invalid(.validBefore, "validBefore must be at least \(configuration.validityMargin) s ahead")
        }
        if a.validAfter > EVM.UInt256(now) { return payment.invalid(.validAfter, "the authorization is not valid yet") }
        if let upto = payment.upto {
            guard let signer = try? payment.signature.recoverAddress(from: upto.digest(chainID: payment.token.chainID)), signer == a.from
            else { return payment.invalid(.invalidSignature, "the signature does not recover to from in Permit2's domain") }
            return nil
        }
        guard let signer = try? a.recoverSigner(payment.signature, in: payment.domain), signer == a.from else {
            return payment.invalid(.invalidSignature, "the signature does not recover to from in the token's domain")
        }
        return nil
    }
}
