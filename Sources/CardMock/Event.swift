/// An event (`evt_…`): the object as it was when something happened, stored before any delivery.
struct Event: Sendable, Codable, Hashable {
    var id: String
    var created: Int64
    var type: String
    var apiVersion: String
    var object: JSON
    var previousAttributes: JSON?
    var requestID: String?
    var idempotencyKey: String?
    /// Endpoints it was queued for when created.
    var pendingWebhooks: Int64

    var json: JSON {
        var data: [String: JSON] = ["object": object]
        if let previousAttributes { data["previous_attributes"] = previousAttributes }
        return [
            "id": .string(id), "object": "event", "created": .int(created), "type": .string(type), "api_version": .string(apiVersion),
            "data": .object(data), "livemode": false, "pending_webhooks": .int(pendingWebhooks),
            "request": ["id": .from(requestID), "idempotency_key": .from(idempotencyKey)],
        ]
    }
}
