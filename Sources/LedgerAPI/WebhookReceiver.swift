/// Takes the webhooks that rails push to `POST /v1/rails/{rail}/webhooks`.
///
/// The API knows nothing of rails: the executable builds a receiver from its rail registry. The
/// route needs no API key: each rail verifies its own signature on the raw body.
public struct WebhookReceiver: Sendable {
    /// What taking one delivery did.
    public enum Outcome: Sendable, Hashable {
        /// Verified and booked.
        case booked
        /// Already taken earlier: nothing was done.
        case duplicate
    }

    /// Why a delivery was not taken; each maps to a status the sender understands.
    public enum Failure: Error, Sendable, Hashable {
        /// No rail with that id takes webhooks (404).
        case unknownRail(String)
        /// The signature or the payload is not acceptable (400; the sender should not retry).
        case invalid(code: String, message: String)
        /// It can't be booked yet, e.g. it resolves a hold not booked yet (409; the sender retries).
        case retryLater(code: String, message: String)
        /// The rail or the ledger is unreachable (503; the sender retries).
        case unavailable(code: String, message: String)
    }

    public var take: @Sendable (_ rail: String, _ headers: [String: String], _ body: [UInt8]) async throws(Failure) -> Outcome

    public init(take: @escaping @Sendable (_ rail: String, _ headers: [String: String], _ body: [UInt8]) async throws(Failure) -> Outcome) {
        self.take = take
    }
}
