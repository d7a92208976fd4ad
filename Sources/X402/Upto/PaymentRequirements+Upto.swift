import EVM
import Ledger

extension PaymentRequirements {
    /// An `upto` offer: the client signs a Permit2 transfer of at most `maximum` for the upto
    /// proxy, which only `facilitator` (the settling facilitator's signer, `/supported`'s
    /// `extra.facilitatorAddress`) may settle; the route then charges what its handler used
    /// (`Settlement-Overrides`). `name` and `version` are the token's EIP-712 domain, which the
    /// SDK's server adds as well (Permit2 itself does not use them).
    public static func upto(
        network: String, maximum: String, asset: String, payTo: String, maxTimeoutSeconds: Int = 60, name: String, version: String,
        facilitator: Address
    ) -> PaymentRequirements {
        PaymentRequirements(
            scheme: X402Facilitator.upto, network: network, amount: maximum, asset: asset, payTo: payTo,
            maxTimeoutSeconds: maxTimeoutSeconds,
            extra: [
                "assetTransferMethod": .string("permit2"), "name": .string(name), "version": .string(version),
                "facilitatorAddress": .string(facilitator.checksummed),
            ])
    }
}
