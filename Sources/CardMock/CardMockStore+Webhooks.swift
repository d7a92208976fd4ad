import Foundation

/// Events, webhook endpoints and the delivery queue.
extension CardMockStore {
    func listEvents(_ p: inout Params) throws(StripeError) -> JSON {
        var types = try p.strings("types") ?? []
        if let type = try p.nonEmpty("type") { types.append(type) }
        _ = try p.string("delivery_success")
        return try list(prefix: "evt", state.events, url: "/v1/events", &p, created: \.created, json: \.json) { event in
            types.isEmpty
                || types.contains { $0 == event.type || ($0.hasSuffix("*") && event.type.hasPrefix(String($0.dropLast()))) }
        }
    }

    func createWebhookEndpoint(_ p: inout Params) throws(StripeError) -> JSON {
        let url = try p.required("url")
        guard let events = try p.strings("enabled_events"), !events.isEmpty else { throw StripeError.missingParameter("enabled_events") }
        let apiVersion = try p.nonEmpty("api_version")
        let description = try p.nonEmpty("description")
        _ = try p.string("connect")
        let metadata = try p.metadata()
        try p.finish()
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw StripeError.invalidRequest("Invalid URL: \(url)", code: "url_invalid", param: "url")
        }
        let endpoint = WebhookEndpoint(
            id: Self.newID("we"), created: now, url: url, enabledEvents: events, secret: Self.newID("whsec", length: 32),
            status: "enabled", apiVersion: apiVersion, description: description, metadata: metadata)
        put(.webhookEndpoint(endpoint))
        return endpoint.json(withSecret: true)
    }

    func updateWebhookEndpoint(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        guard var endpoint = state.webhookEndpoints[id] else { throw StripeError.noSuch("webhook_endpoint", id) }
        if let url = try p.nonEmpty("url") { endpoint.url = url }
        if let events = try p.strings("enabled_events"), !events.isEmpty { endpoint.enabledEvents = events }
        if let disabled = try p.bool("disabled") { endpoint.status = disabled ? "disabled" : "enabled" }
        if p.has("description") { endpoint.description = try p.nonEmpty("description") }
        endpoint.metadata = try p.metadata(merging: endpoint.metadata)
        try p.finish()
        let repaired = endpoint.url != state.webhookEndpoints[id]?.url || endpoint.status != state.webhookEndpoints[id]?.status
        put(.webhookEndpoint(endpoint))
        // A fixed or re-enabled endpoint gets its backlog now rather than at the next backed-off attempt.
        if repaired && endpoint.status == "enabled" {
            for deliveryID in state.pendingDeliveries {
                guard var delivery = state.deliveries[deliveryID], delivery.endpoint == id else { continue }
                delivery.nextAttemptAtMs = wallMilliseconds
                put(.delivery(delivery))
            }
        }
        return endpoint.json(withSecret: false)
    }

    func deleteWebhookEndpoint(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        try p.finish()
        guard state.webhookEndpoints[id] != nil else { throw StripeError.noSuch("webhook_endpoint", id) }
        put(.webhookEndpointDeleted(id))
        // Its queued deliveries have nowhere to go.
        for deliveryID in state.pendingDeliveries {
            guard var delivery = state.deliveries[deliveryID], delivery.endpoint == id else { continue }
            delivery.status = "failed"
            put(.delivery(delivery))
        }
        return ["id": .string(id), "object": "webhook_endpoint", "deleted": true]
    }

    func listWebhookEndpoints(_ p: inout Params) throws(StripeError) -> JSON {
        try list(
            prefix: "we", state.webhookEndpoints, url: "/v1/webhook_endpoints", &p, created: \.created, json: { $0.json(withSecret: false) }
        ) {
            _ in true
        }
    }

    /// `GET /_mock/deliveries [event] [webhook_endpoint] [status]`.
    func listDeliveries(_ p: inout Params) throws(StripeError) -> JSON {
        let event = try p.nonEmpty("event")
        let endpoint = try p.nonEmpty("webhook_endpoint")
        let status = try p.oneOf("status", ["pending", "delivered", "failed"])
        return try list(prefix: "whd", state.deliveries, url: "/_mock/deliveries", &p, created: { _ in 0 }, json: \.json) {
            (event == nil || $0.event == event) && (endpoint == nil || $0.endpoint == endpoint) && (status == nil || $0.status == status)
        }
    }

    // MARK: Delivery queue

    /// One attempt to make: where, with which secret, which bytes.
    struct DeliveryJob: Sendable {
        var id: String
        var url: String
        var secret: String
        var body: Data
    }

    /// Deliveries due by now, marked in flight; and when the next one not yet due falls due.
    func takeDueDeliveries(limit: Int) -> (jobs: [DeliveryJob], nextDueMs: Int64?) {
        let nowMs = wallMilliseconds
        var jobs: [DeliveryJob] = []
        var next: Int64?
        for id in state.pendingDeliveries where !deliveriesInFlight.contains(id) {
            guard let delivery = state.deliveries[id] else { continue }
            guard delivery.nextAttemptAtMs <= nowMs, jobs.count < limit else {
                next = min(next ?? delivery.nextAttemptAtMs, delivery.nextAttemptAtMs)
                continue
            }
            guard let endpoint = state.webhookEndpoints[delivery.endpoint], let event = state.events[delivery.event] else { continue }
            deliveriesInFlight.insert(id)
            jobs.append(DeliveryJob(id: id, url: endpoint.url, secret: endpoint.secret, body: event.json.encoded()))
        }
        return (jobs, next)
    }

    /// Records one attempt; schedules the next with exponential backoff or gives up.
    func record(_ id: String, attempt: WebhookDelivery.Attempt) async {
        deliveriesInFlight.remove(id)
        guard var delivery = state.deliveries[id], delivery.status == "pending" else { return }
        delivery.attempts.append(attempt)
        if let code = attempt.statusCode, (200..<300).contains(code) {
            delivery.status = "delivered"
        } else if delivery.attempts.count >= configuration.webhookMaxAttempts {
            delivery.status = "failed"
        } else {
            delivery.nextAttemptAtMs = wallMilliseconds + configuration.retryDelay(afterAttempts: delivery.attempts.count).milliseconds
        }
        put(.delivery(delivery))
        let sequence = commit()
        try? await journal.sync(sequence)
    }
}
