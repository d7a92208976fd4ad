/// Several facilitators behind one `/verify`, `/settle` and `/supported`: each payment goes to the
/// facilitator of its requirements' network, and `/supported` lists them all.
public typealias NetworkFacilitators = RoutedFacilitators<ByNetwork>

/// Several facilitators behind one `/verify`, `/settle` and `/supported`, one per scheme (`exact`,
/// `batch-settlement`): each payment goes to the facilitator of its requirements' scheme, and
/// `/supported` lists them all.
public typealias SchemeFacilitators = RoutedFacilitators<ByScheme>

/// Which field of the requirements picks the facilitator of a payment.
public protocol FacilitatorRoute: Sendable {
    static var key: KeyPath<PaymentRequirements, String> & Sendable { get }
    /// The same field of a `/supported` kind.
    static var kindKey: KeyPath<SupportedResponse.Kind, String> & Sendable { get }
    /// The field, in messages.
    static var name: String { get }
    /// The reason a payment that no facilitator takes is refused with.
    static var refusal: X402Reason { get }
}

public enum ByNetwork: FacilitatorRoute {
    public static let key: KeyPath<PaymentRequirements, String> & Sendable = \.network
    public static let kindKey: KeyPath<SupportedResponse.Kind, String> & Sendable = \.network
    public static let name = "network"
    public static let refusal = X402Reason.invalidNetwork
}

public enum ByScheme: FacilitatorRoute {
    public static let key: KeyPath<PaymentRequirements, String> & Sendable = \.scheme
    public static let kindKey: KeyPath<SupportedResponse.Kind, String> & Sendable = \.scheme
    public static let name = "scheme"
    public static let refusal = X402Reason.unsupportedScheme
}

/// Sends each payment to the facilitator its requirements name (``FacilitatorRoute``), refuses the
/// others, and merges the facilitators' `/supported`.
public struct RoutedFacilitators<Route: FacilitatorRoute>: Facilitator {
    public let routes: [String: any Facilitator]

    public init(_ routes: [String: any Facilitator]) {
        self.routes = routes
    }

    public func verify(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> VerifyResponse {
        let value = requirements[keyPath: Route.key]
        guard let facilitator = routes[value] else { return .invalid(Route.refusal, "\(Route.name) \(value) is not settled here") }
        return try await facilitator.verify(payload, requirements: requirements)
    }

    public func settle(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> SettleResponse {
        let value = requirements[keyPath: Route.key]
        guard let facilitator = routes[value] else {
            return SettleResponse(
                success: false, errorReason: Route.refusal, errorMessage: "\(Route.name) \(value) is not settled here", transaction: "",
                network: requirements.network)
        }
        return try await facilitator.settle(payload, requirements: requirements)
    }

    /// Every kind a route sends to its facilitator (a facilitator's other kinds are not reachable
    /// here), and the extensions and signers once each.
    public func supported() async throws -> SupportedResponse {
        var merged = SupportedResponse(kinds: [])
        for value in routes.keys.sorted() {
            let answer = try await routes[value]!.supported()
            merged.kinds += answer.kinds.filter { $0[keyPath: Route.kindKey] == value }
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
