/// What a resource server needs from a facilitator: `/verify`, `/settle` and `/supported`.
///
/// Two implementations: ``X402Facilitator`` settles itself (in process), and
/// ``X402FacilitatorClient`` asks a facilitator at a URL. Answers about the payment (invalid,
/// failed, pending) are values; a thrown error means the facilitator could not answer.
public protocol Facilitator: Sendable {
    /// Checks a payment against the resource's own requirements without committing anything.
    func verify(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> VerifyResponse
    /// Settles a payment. Calling it again with the same payload returns the same settlement (or
    /// its final state, once a pending one resolves); it never settles twice.
    func settle(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> SettleResponse
    /// The schemes, networks and signers it supports.
    func supported() async throws -> SupportedResponse
}
