/// Several facilitators behind one `/verify`, `/settle` and `/supported`: each payment goes to the
/// facilitator of its requirements' network, and `/supported` lists them all.
public struct NetworkFacilitators: Facilitator {
    public let byNetwork: [String: any Facilitator]

    public init(_ byNetwork: [String: any Facilitator]) {
        self.byNetwork = byNetwork
    }

    public func verify(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> VerifyResponse {
        guard let facilitator = byNetwork[requirements.network] else {
            return VerifyResponse(
                isValid: false, invalidReason: .invalidNetwork, invalidMessage: "network \(requirements.network) is not settled here")
        }
        return try await facilitator.verify(payload, requirements: requirements)
    }

    public func settle(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> SettleResponse {
        guard let facilitator = byNetwork[requirements.network] else {
            return SettleResponse(
                success: false, errorReason: .invalidNetwork, errorMessage: "network \(requirements.network) is not settled here",
                transaction: "", network: requirements.network)
        }
        return try await facilitator.settle(payload, requirements: requirements)
    }

    public func supported() async throws -> SupportedResponse {
        var merged = SupportedResponse(kinds: [])
        for network in byNetwork.keys.sorted() {
            let answer = try await byNetwork[network]!.supported()
            merged.kinds += answer.kinds
            for extensionName in answer.extensions where !merged.extensions.contains(extensionName) {
                merged.extensions.append(extensionName)
            }
            for (family, signers) in answer.signers {
                merged.signers[family, default: []] += signers.filter { !(merged.signers[family] ?? []).contains($0) }
            }
        }
        return merged
    }
}
