import Foundation
import PostgresNIO

extension PostgresLedger {
    /// Registers a webhook endpoint. It receives the events recorded after this call unless
    /// `after` names an earlier position to start from.
    /// - Throws: ``LedgerError/Code/malformedID``, ``LedgerError/Code/invalidURL``,
    ///   ``LedgerError/Code/unknownCursor`` (a start beyond the last event),
    ///   ``LedgerError/Code/cursorExpired`` (a start among pruned events),
    ///   ``LedgerError/Code/existsWithDifferentFields``.
    /// - Parameter scope: the account prefix of the key registering it (``WebhookEndpoint/scope``);
    ///   `accountPrefix` must then lie under it.
    public func createWebhookEndpoint(
        id: String, url: String, types: [LedgerEvent.Kind] = [], accountPrefix: String = "", scope: String? = nil, after: Int64? = nil
    ) async throws(LedgerError) -> WebhookEndpoint {
        guard BalanceMonitor.isValidID(id) else {
            throw LedgerError(.malformedID, "an endpoint id is 1-128 characters of [A-Za-z0-9._:/@+-] starting with a letter or digit")
        }
        guard Self.isWebhookURL(url) else {
            throw LedgerError(.invalidURL, "a webhook URL is an absolute http:// or https:// URL of at most 2,048 bytes")
        }
        guard accountPrefix.isEmpty || AccountID.isValid(accountPrefix) else {
            throw LedgerError(.malformedID, "an account prefix is 1-128 characters of [A-Za-z0-9._:/@+-] starting with a letter or digit")
        }
        if let scope {
            guard !scope.isEmpty, accountPrefix.hasPrefix(scope) else {
                throw LedgerError(.forbiddenAccount, "the endpoint's account prefix must start with its scope \(scope)")
            }
        }
        let head = try await sequenceEvents()
        let start = after ?? head
        guard (0...head).contains(start) else {
            throw LedgerError(.unknownCursor, "an endpoint starts at a position from 0 to the last event, \(head); got \(start)")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        let secret = bytes.lowercaseHex
        let typeNames = types.map(\.rawValue)
        let inserted: Bool = try await database {
            let rows = try await client.query(
                """
                insert into settle.webhook_endpoints (id, url, secret, types, account_prefix, scope, delivered_through)
                select \(id), \(url), \(secret), \(typeNames), \(accountPrefix), \(scope), \(start)
                  from (select pruned_through from settle.outbox_horizon for update) h
                 where h.pruned_through <= \(start)
                on conflict (id) do nothing returning id
                """, logger: logger)
            // The horizon's row lock orders this insert with settle.prune_events(): the endpoint
            // either starts at or after the horizon, or a prune waiting on it sees it.
            for try await _ in rows.decode(String.self) { return true }
            return false
        }
        guard let stored = try await webhookEndpoint(id) else {
            throw Self.expired(start, horizon: try await eventHorizon())
        }
        if !inserted {
            guard stored.url == url, stored.types == types, stored.accountPrefix == accountPrefix, stored.scope == scope else {
                throw LedgerError(.existsWithDifferentFields, "webhook endpoint \(id) exists with another URL or filter")
            }
        }
        return stored
    }

    /// Every webhook endpoint, by id.
    public func webhookEndpoints() async throws(LedgerError) -> [WebhookEndpoint] {
        try await readWebhookEndpoints(id: nil, dueOnly: false)
    }

    /// The endpoint with this id, or nil.
    public func webhookEndpoint(_ id: String) async throws(LedgerError) -> WebhookEndpoint? {
        try await readWebhookEndpoints(id: id, dueOnly: false).first
    }

    /// The endpoints due for an attempt now.
    public func dueWebhookEndpoints() async throws(LedgerError) -> [WebhookEndpoint] {
        try await readWebhookEndpoints(id: nil, dueOnly: true)
    }

    /// Removes an endpoint; nothing more is sent to it.
    /// - Throws: ``LedgerError/Code/webhookEndpointNotFound``.
    public func deleteWebhookEndpoint(_ id: String) async throws(LedgerError) {
        let deleted: Bool = try await database {
            let rows = try await client.query("delete from settle.webhook_endpoints where id = \(id) returning id", logger: logger)
            for try await _ in rows.decode(String.self) { return true }
            return false
        }
        guard deleted else { throw LedgerError(.webhookEndpointNotFound, "webhook endpoint \(id) does not exist") }
    }

    /// Records an acknowledged delivery: the endpoint's position moves forward (never back) and
    /// its failures are forgotten.
    public func recordWebhookDelivery(_ id: String, through position: Int64, status: Int) async throws(LedgerError) {
        try await database {
            try await client.query(
                """
                update settle.webhook_endpoints
                   set delivered_through = greatest(delivered_through, \(position)), failures = 0, next_attempt_at = now(),
                       last_attempt_at = now(), last_status = \(Int32(clamping: status)), last_error = null
                 where id = \(id)
                """, logger: logger)
        }
    }

    /// Moves an endpoint past events it does not take, without an attempt.
    public func advanceWebhookEndpoint(_ id: String, through position: Int64) async throws(LedgerError) {
        try await database {
            try await client.query(
                """
                update settle.webhook_endpoints set delivered_through = greatest(delivered_through, \(position)) where id = \(id)
                """, logger: logger)
        }
    }

    /// Records a failed attempt; the next one waits `retryAfter`.
    public func recordWebhookFailure(_ id: String, status: Int?, error: String, retryAfter: Duration) async throws(LedgerError) {
        let seconds = Double(retryAfter.components.seconds) + Double(retryAfter.components.attoseconds) / 1e18
        let message = String(error.prefix(1_000))
        try await database {
            try await client.query(
                """
                update settle.webhook_endpoints
                   set failures = failures + 1, next_attempt_at = now() + make_interval(secs => \(seconds)),
                       last_attempt_at = now(), last_status = \(status.map { Int32(clamping: $0) }), last_error = \(message)
                 where id = \(id)
                """, logger: logger)
        }
    }

    private func readWebhookEndpoints(id: String?, dueOnly: Bool) async throws(LedgerError) -> [WebhookEndpoint] {
        typealias Row = (String, String, String, [String], String, String?, Int64, Int32, Date, Date?, Int32?, String?, Date)
        let rows: [Row] = try await database {
            let query: PostgresQuery = """
                select id, url, secret, types, account_prefix, scope, delivered_through, failures, next_attempt_at, last_attempt_at,
                       last_status, last_error, created_at
                  from settle.webhook_endpoints
                 where (\(id)::text is null or id = \(id)) and (not \(dueOnly) or next_attempt_at <= now())
                 order by id
                """
            var out: [Row] = []
            for try await row in try await client.query(query, logger: logger).decode(Row.self) { out.append(row) }
            return out
        }
        return rows.map { id, url, secret, types, prefix, scope, through, failures, next, last, status, error, created in
            WebhookEndpoint(
                id: id, url: url, secret: secret, types: types.compactMap(LedgerEvent.Kind.init(rawValue:)), accountPrefix: prefix,
                scope: scope, deliveredThrough: through, failures: Int(failures), nextAttemptAt: next, lastAttemptAt: last,
                lastStatus: status.map(Int.init),
                lastError: error, createdAt: created)
        }
    }

    static func isWebhookURL(_ url: String) -> Bool {
        guard (8...2_048).contains(url.utf8.count), let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty
        else { return false }
        return url.hasPrefix("http://") || url.hasPrefix("https://")
    }
}
