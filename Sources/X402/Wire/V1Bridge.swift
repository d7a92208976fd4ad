/// Translation between x402 v1 messages and the v2 ones the facilitator works on.
public struct X402V1Bridge: Sendable, Hashable {
    /// v1 network name → EIP-155 chain id.
    public var networks: [String: UInt64]

    public init(networks: [String: UInt64] = X402NetworkNames.known) {
        self.networks = networks
    }

    /// The v1 name of a CAIP-2 `eip155:<id>` network, if it has one.
    public func name(of network: String) -> String? {
        guard network.hasPrefix("eip155:"), let id = UInt64(network.dropFirst(7)) else { return nil }
        return networks.filter { $0.value == id }.keys.sorted().first
    }

    /// The CAIP-2 id of a v1 network name.
    public func network(named name: String) -> String? {
        networks[name].map { "eip155:\($0)" }
    }

    /// The v1 form of `requirements` for `resource`; nil when its network has no v1 name.
    public func v1(_ requirements: PaymentRequirements, resource: ResourceInfo) -> PaymentRequirementsV1? {
        guard let name = name(of: requirements.network) else { return nil }
        return PaymentRequirementsV1(
            scheme: requirements.scheme, network: name, maxAmountRequired: requirements.amount, resource: resource.url,
            description: resource.description ?? "", mimeType: resource.mimeType ?? "", payTo: requirements.payTo,
            maxTimeoutSeconds: requirements.maxTimeoutSeconds, asset: requirements.asset, extra: requirements.extra)
    }

    /// The v2 form of v1 requirements; nil for an unknown network name.
    public func v2(_ requirements: PaymentRequirementsV1) -> PaymentRequirements? {
        guard let network = network(named: requirements.network) else { return nil }
        return PaymentRequirements(
            scheme: requirements.scheme, network: network, amount: requirements.maxAmountRequired, asset: requirements.asset,
            payTo: requirements.payTo, maxTimeoutSeconds: requirements.maxTimeoutSeconds, extra: requirements.extra)
    }

    /// The v2 form of a v1 payment for `requirements`, which must name the same scheme and
    /// network: v1 payloads carry no copy of the offer, so the resource's own stands in.
    public func v2(_ payload: PaymentPayloadV1, for requirements: PaymentRequirements) -> PaymentPayload? {
        guard payload.scheme == requirements.scheme, network(named: payload.network) == requirements.network else { return nil }
        return PaymentPayload(x402Version: 2, accepted: requirements, payload: payload.payload)
    }
}
