import EVM
import Foundation
import MPP
import MPPTempo

/// An agent paying with MPP `tempo/charge`: signs a Tempo transaction (type 0x78) that transfers
/// the asked amount to the recipient with the challenge's attribution memo, leaving the fee to the
/// merchant when the challenge offers to pay it, and sends it as the credential.
public struct TempoChargeAgent: Sendable {
    public var key: PrivateKey

    public init(key: PrivateKey) { self.key = key }

    /// Pays `url` once.
    /// - Returns: the receipt's reference (the transaction hash) and the paid body.
    public func pay(_ url: String) async throws -> (reference: String, body: String) {
        let challenge = try await PaidRoute.challenge(url).challenge(method: "tempo", intent: "charge")
        let request = try challenge.requestObject()
        let details = request["methodDetails"]?.objectValue ?? [:]
        guard let amount = request["amount"]?.stringValue, let currency = request["currency"]?.stringValue,
            let recipient = request["recipient"]?.stringValue, case .integer(let chainID)? = details["chainId"]
        else { throw StackError(.noOffer, "the tempo/charge challenge lacks its amount, currency, recipient or chain") }
        let sponsored = details["feePayer"] == .bool(true)
        let memo = AttributionMemo.encode(challengeID: challenge.id, realm: challenge.realm)
        let call = TempoCall(
            to: try Address(currency),
            input: ABI.encodeCall(
                "transferWithMemo(address,uint256,bytes32)",
                [.address(try Address(recipient)), .uint(try EVM.UInt256(decimal: amount)), .bytes32(memo)]))
        // An expiring nonce and a one-minute window, as pympp's client makes it.
        let transaction = TempoTransaction(
            chainID: UInt64(chainID), maxPriorityFeePerGas: 0, maxFeePerGas: 20_000_000_000, gasLimit: 1_000_000, calls: [call],
            nonceKey: TempoTransaction.expiringNonceKey, nonce: 0, validBefore: UInt64(Date().timeIntervalSince1970) + 60,
            feeToken: sponsored ? nil : try Address(currency), isSponsored: sponsored)
        let signed = transaction.signed(with: key)
        // A sponsored transaction goes as the 0x78 envelope the merchant co-signs as fee payer.
        let raw = sponsored ? try TempoFeePayerEnvelope(signed).rawHex : signed.rawHex
        let credential = PaymentCredential(
            challenge: challenge, payload: .object(["type": .string("transaction"), "signature": .string(raw)]))
        return try await credential.pay(url, scheme: "mpp tempo/charge")
    }
}
