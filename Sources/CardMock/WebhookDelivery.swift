/// The delivery of one event to one endpoint: attempts so far and when the next one is due.
///
/// Persisted with every change, so pending deliveries survive a restart. Times here are wall-clock
/// milliseconds, not mock time: retries back off in real time so tests can compress them.
struct WebhookDelivery: Sendable, Codable, Hashable {
    struct Attempt: Sendable, Codable, Hashable {
        /// Wall-clock milliseconds when the attempt started.
        var at: Int64
        /// The `t` it was signed with.
        var timestamp: Int64
        var statusCode: Int?
        var error: String?
    }

    var id: String
    var event: String
    var endpoint: String
    /// `pending`, `delivered` or `failed` (attempts exhausted).
    var status: String
    var attempts: [Attempt] = []
    var nextAttemptAtMs: Int64

    var json: JSON {
        [
            "id": .string(id), "object": "mock_webhook_delivery", "event": .string(event), "webhook_endpoint": .string(endpoint),
            "status": .string(status), "next_attempt_at_ms": status == "pending" ? .int(nextAttemptAtMs) : nil,
            "attempts": .array(
                attempts.map {
                    [
                        "at_ms": .int($0.at), "signature_timestamp": .int($0.timestamp),
                        "status_code": $0.statusCode.map { .int(Int64($0)) } ?? nil, "error": .from($0.error),
                    ]
                }),
        ]
    }
}
