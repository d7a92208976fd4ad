/// The stored answer to an idempotent POST: replayed byte for byte for the same key and parameters.
struct IdempotencyRecord: Sendable, Codable, Hashable {
    /// `<api key>\u{0}<Idempotency-Key>`: keys are scoped to the API key.
    var scope: String
    var method: String
    var path: String
    /// SHA-256 of the canonical parameters.
    var paramsHash: String
    var status: Int
    var body: String
    /// Mock time of the first request; pruned 24 hours of mock time later.
    var created: Int64
}
