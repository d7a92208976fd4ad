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
        var answers: [SupportedResponse] = []
        for network in byNetwork.keys.sorted() { answers.append(try await byNetwork[network]!.supported()) }
        return SupportedResponse(merging: answers)
    }
}

/// Several facilitators behind one `/verify`, `/settle` and `/supported`, one per scheme (`exact`,
/// `batch-settlement`): each payment goes to the facilitator of its requirements' scheme, and
/// `/supported` lists them all.
public struct SchemeFacilitators: Facilitator {
    public let byScheme: [String: any Facilitator]

    public init(_ byScheme: [String: any Facilitator]) {
        self.byScheme = byScheme
    }

    public func verify(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> VerifyResponse {
        guard let facilitator = byScheme[requirements.scheme] else {
            return .invalid(.unsupportedScheme, "scheme \(requirements.scheme) is not settled here")
        }
        return try await facilitator.verify(payload, requirements: requirements)
    }

    public func settle(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> SettleResponse {
        guard let facilitator = byScheme[requirements.scheme] else {
            return SettleResponse(
                success: false, errorReason: .unsupportedScheme, errorMessage: "scheme \(requirements.scheme) is not settled here",
                transaction: "", network: requirements.network)
        }
        return try await facilitator.settle(payload, requirements: requirements)
    }

    public func supported() async throws -> SupportedResponse {
        var answers: [SupportedResponse] = []
        for scheme in byScheme.keys.sorted() { answers.append(try await byScheme[scheme]!.supported()) }
        return SupportedResponse(merging: answers)
    }
}

extension SupportedResponse {
    /// Every kind of `answers`, their extensions and signers once each.
    init(merging answers: [SupportedResponse]) {
        self.init(kinds: [])
        for answer in answers {
            kinds += answer.kinds
            for extensionName in answer.extensions where !extensions.contains(extensionName) {
                extensions.append(extensionName)
            }
            for (family, addresses) in answer.signers {
                signers[family, default: []] += addresses.filter { !(signers[family] ?? []).contains($0) }
            }
        }
    }
}
