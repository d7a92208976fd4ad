import EVM
import Foundation
import Ledger
import NIOHTTP1
import X402

/// An agent paying with x402 `exact` on an EVM chain: reads `PAYMENT-REQUIRED`, signs an EIP-3009
/// `transferWithAuthorization` for the first offer of its network, and sends it as
/// `PAYMENT-SIGNATURE`, as the official clients do.
public struct X402Agent: Sendable {
    public var key: PrivateKey
    /// The CAIP-2 network it pays on.
    public var network: String

    public init(key: PrivateKey, network: String) {
        self.key = key
        self.network = network
    }

    /// Pays `url` once.
    /// - Returns: the facilitator's settlement (its transaction hash) and the paid body.
    public func pay(_ url: String) async throws -> (settlement: SettleResponse, body: String) {
        let challenge = try await PaidRoute.challenge(url)
        let required = try challenge.headers.first(name: "PAYMENT-REQUIRED").map {
            try X402HeaderCodec.standard.decode(PaymentRequired.self, from: $0)
        }
        guard let offer = required?.accepts.first(where: { $0.scheme == "exact" && $0.network == network }) else {
            throw StackError(.noOffer, "no x402 exact offer on \(network)")
        }
        let payload = try sign(offer)
        let answer = try await PaidRoute.paid(
            url, headers: [("PAYMENT-SIGNATURE", X402HeaderCodec.standard.encode(payload))], scheme: "x402 exact")
        guard let header = answer.headers.first(name: "PAYMENT-RESPONSE") else {
            throw StackError(.refused, "x402 exact: paid without a PAYMENT-RESPONSE")
        }
        return (try X402HeaderCodec.standard.decode(SettleResponse.self, from: header), answer.body)
    }

    func sign(_ offer: PaymentRequirements) throws -> PaymentPayload {
        guard let chainID = offer.network.split(separator: ":").last.flatMap({ UInt64($0) }),
            case .string(let name)? = offer.extra?["name"], case .string(let version)? = offer.extra?["version"]
        else { throw StackError(.noOffer, "the exact offer lacks its chain id or token domain") }
        let domain = TokenDomain(name: name, version: version, chainID: EVM.UInt256(chainID), verifyingContract: try Address(offer.asset))
        let now = UInt64(Date().timeIntervalSince1970)
        let authorization = TransferWithAuthorization(
            from: key.address, to: try Address(offer.payTo), value: try EVM.UInt256(decimal: offer.amount), validAfter: EVM.UInt256(0),
            validBefore: EVM.UInt256(now + UInt64(offer.maxTimeoutSeconds)),
            nonce: try Hash32(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) }))
        let signature = authorization.sign(with: key, in: domain)
        let exact = ExactEvmPayload(
            signature: signature.hex,
            authorization: .init(
                from: authorization.from.checksummed, to: authorization.to.checksummed, value: authorization.value.description,
                validAfter: authorization.validAfter.description, validBefore: authorization.validBefore.description,
                nonce: authorization.nonce.hex))
        return PaymentPayload(accepted: offer, payload: try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(exact)))
    }
}
