/// A webhook endpoint (`we_…`): where events are POSTed, signed with its `whsec_…` secret.
struct WebhookEndpoint: Sendable, Codable, Hashable {
    var id: String
    var created: Int64
    var url: String
    var enabledEvents: [String]
    var secret: String
    var status: String
    var apiVersion: String?
    var description: String?
    var metadata: [String: String]

    /// `*` takes every type, `charge.*` every type of that family.
    func accepts(_ type: String) -> Bool {
        status == "enabled"
            && enabledEvents.contains { pattern in
                pattern == "*" || pattern == type || (pattern.hasSuffix(".*") && type.hasPrefix(String(pattern.dropLast())))
            }
    }

    /// The secret is only shown when the endpoint is created, as Stripe does.
    func json(withSecret: Bool) -> JSON {
        var json: JSON = [
            "id": .string(id), "object": "webhook_endpoint", "created": .int(created), "url": .string(url),
            "enabled_events": .array(enabledEvents.map(JSON.string)), "status": .string(status), "api_version": .from(apiVersion),
            "description": .from(description), "metadata": .from(metadata), "livemode": false, "application": nil,
        ]
        if withSecret { json["secret"] = .string(secret) }
        return json
    }
}
