import EVM
import Foundation
import Ledger

/// The payer's side of batch-settlement payloads, as x402's own client builds them: the channel
/// config, signed vouchers and ERC-3009 deposits. For Settle's benchmarks and tests; a payer in
/// production runs an x402 client.
public enum X402BatchClient {
    /// `channelConfig` as the payloads carry it.
    public static func configJSON(_ config: BatchChannelConfig) -> JSONValue {
        .object([
            "payer": .string(config.payer.checksummed), "payerAuthorizer": .string(config.payerAuthorizer.checksummed),
            "receiver": .string(config.receiver.checksummed), "receiverAuthorizer": .string(config.receiverAuthorizer.checksummed),
            "token": .string(config.token.checksummed), "withdrawDelay": .number(String(config.withdrawDelay)),
            "salt": .string(config.salt.hex),
        ])
    }

    /// A voucher for `maxClaimable` on the channel (`channelID`, or the config's own), signed by `key`.
    public static func voucherJSON(
        _ config: BatchChannelConfig, _ maxClaimable: EVM.UInt256, key: PrivateKey, domain: TokenDomain, channelID: Hash32? = nil
    ) -> JSONValue {
        let id = channelID ?? config.channelID(in: domain)
        let signature = key.sign(digest: BatchSettlement.voucherDigest(channelID: id, maxClaimableAmount: maxClaimable, domain: domain))
        return .object([
            "channelId": .string(id.hex), "maxClaimableAmount": .string(maxClaimable.description), "signature": .string(signature.hex),
        ])
    }

    /// A `voucher` payload for `maxClaimable`.
    public static func voucher(
        _ config: BatchChannelConfig, _ maxClaimable: EVM.UInt256, key: PrivateKey, requirements: PaymentRequirements,
        domain: TokenDomain, channelID: Hash32? = nil
    ) -> PaymentPayload {
        PaymentPayload(
            accepted: requirements,
            payload: .object([
                "type": .string("voucher"), "channelConfig": configJSON(config),
                "voucher": voucherJSON(config, maxClaimable, key: key, domain: domain, channelID: channelID),
            ]))
    }

    /// A `deposit` payload: `amount` through an ERC-3009 collector (`receiveWithAuthorization`
    /// signed by `signer`, valid for `lifetime` seconds, in `tokenDomain`) with the first voucher
    /// for `maxClaimable`, signed by `key`.
    public static func deposit(
        _ config: BatchChannelConfig, amount: EVM.UInt256, maxClaimable: EVM.UInt256, key: PrivateKey, requirements: PaymentRequirements,
        domain: TokenDomain, tokenDomain: TokenDomain, collector: Address = BatchSettlement.erc3009DepositCollector,
        signer: PrivateKey? = nil, channelID: Hash32? = nil, lifetime: UInt64 = 120
    ) -> PaymentPayload {
        let id = channelID ?? config.channelID(in: domain)
        let salt = EVM.UInt256(UInt64.random(in: 1...UInt64.max))
        let validBefore = EVM.UInt256(UInt64(Date().timeIntervalSince1970) + lifetime)
        let authorization = ReceiveWithAuthorization(
            from: config.payer, to: collector, value: amount, validAfter: .zero, validBefore: validBefore,
            nonce: BatchSettlement.erc3009DepositNonce(channelID: id, salt: salt))
        let signature = authorization.sign(with: signer ?? key, in: tokenDomain)
        return PaymentPayload(
            accepted: requirements,
            payload: .object([
                "type": .string("deposit"), "channelConfig": configJSON(config),
                "voucher": voucherJSON(config, maxClaimable, key: key, domain: domain, channelID: id),
                "deposit": .object([
                    "amount": .string(amount.description),
                    "authorization": .object([
                        "erc3009Authorization": .object([
                            "validAfter": .string("0"), "validBefore": .string(validBefore.description), "salt": .string(salt.description),
                            "signature": .string(signature.hex),
                        ])
                    ]),
                ]),
            ]))
    }
}
