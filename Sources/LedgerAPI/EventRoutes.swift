import Foundation
import Hummingbird
import Ledger

/// `GET /v1/events` (long-poll), balance monitors and webhook endpoints (decision 0039).
struct EventRoutes: Sendable {
    let ledger: PostgresLedger
    let head: EventHead

    /// The longest a reader may wait for an event.
    static let maxWait: Duration = .seconds(30)

    init(ledger: PostgresLedger) {
        self.ledger = ledger
        self.head = EventHead(ledger: ledger)
    }

    /// `GET /v1/events?after=&limit=&wait=&types=&account_prefix=`: the events after the cursor the
    /// caller may see, waiting up to `wait` seconds for one when there is none yet.
    func events(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        var cursor: Int64 = 0
        if let text = query["after"] {
            guard let position = EventCursor.parse(text) else {
                throw APIError(
                    .init(LedgerError.Code.invalidCursor.rawValue), .badRequest, "after is an event cursor: the digits of a position")
            }
            cursor = position
        }
        var limit = 100
        if let text = query["limit"] {
            guard let n = Int(String(text)), (1...1_000).contains(n) else {
                throw APIError(.invalidQuery, .badRequest, "limit must be an integer from 1 to 1000")
            }
            limit = n
        }
        var wait = Duration.zero
        if let text = query["wait"] {
            guard let seconds = Int(String(text)), (0...30).contains(seconds) else {
                throw APIError(.invalidQuery, .badRequest, "wait must be a number of seconds from 0 to 30")
            }
            wait = .seconds(seconds)
        }
        var types: Set<LedgerEvent.Kind> = []
        if let text = query["types"] {
            for name in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let kind = LedgerEvent.Kind(rawValue: String(name)) else {
                    throw APIError(
                        .invalidQuery, .badRequest,
                        "types is a comma-separated list of \(LedgerEvent.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                types.insert(kind)
            }
        }
        let prefix = try Self.accountPrefix(query["account_prefix"].map(String.init)) ?? ""
        if !prefix.isEmpty { try context.requireAccess(to: prefix) }
        let key = context.key

        // A key limited to a prefix sees the events whose every account is under it, as it sees
        // transfers (`account_prefix` keeps, in the database, those touching one account under it).
        func visible(_ event: LedgerEvent) -> Bool {
            key.map { key in event.accounts.allSatisfy { key.covers($0.rawValue) } } ?? true
        }

        let deadline = ContinuousClock.now.advanced(by: wait)
        while true {
            // Types and accounts are filtered by the database (the key's prefix as "touches one",
            // then "all under it" here), and a filtered read looks at up to 1,000 positions a call.
            let page = try await ledger.events(
                after: cursor, limit: limit, accountPrefix: prefix.isEmpty ? key?.accountPrefix ?? "" : prefix, types: types,
                scan: 1_000)
            let shown = page.events.filter(visible)
            cursor = page.next
            if !shown.isEmpty || ContinuousClock.now >= deadline {
                return try APIJSON.response(EventPageWire(events: shown, next: cursor, head: page.head))
            }
            if cursor < page.head { continue }
            try await head.wait(beyond: cursor, until: deadline)
        }
    }

    /// The `account_prefix` query parameter: absent, or the start of an account id (never empty).
    static func accountPrefix(_ text: String?) throws(APIError) -> String? {
        guard let text else { return nil }
        guard (try? AccountID(text)) != nil else {
            throw APIError(
                .invalidQuery, .badRequest, "account_prefix must be 1-128 characters of [A-Za-z0-9._:/@+-], starting with a letter or digit"
            )
        }
        return text
    }

    /// `POST /v1/monitors`.
    func createMonitor(_ request: Request, _ context: APIRequestContext, body: ByteBuffer) async throws -> Response {
        let wire = try APIJSON.decode(MonitorWire.self, from: body)
        try context.requireAccess(to: wire.monitor.account.rawValue)
        // An unknown account is in the body, not the path: 422 account_not_found.
        let creation = try await ledger.createMonitor(wire.monitor)
        return try APIJSON.response(MonitorWire(creation.monitor, holdsNow: creation.holdsNow), status: creation.created ? .created : .ok)
    }

    /// `GET /v1/monitors?account_prefix=`: the monitors of the accounts the caller may see.
    func monitors(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let prefix =
            try Self.accountPrefix(request.uri.queryParameters["account_prefix"].map(String.init)) ?? context.key?.accountPrefix ?? ""
        try context.requireAccess(to: prefix)
        return try APIJSON.response(ItemsWire(items: try await ledger.monitors(accountPrefix: prefix).map { MonitorWire($0) }))
    }

    /// `GET /v1/monitors/{id}`.
    func monitor(_ id: String, _ context: APIRequestContext) async throws -> Response {
        guard let monitor = try await ledger.monitor(id), context.key?.covers(monitor.account.rawValue) ?? true else {
            throw APIError(.notFound, .notFound, "monitor \(id) does not exist")
        }
        return try APIJSON.response(MonitorWire(monitor))
    }

    /// `DELETE /v1/monitors/{id}`.
    func deleteMonitor(_ id: String, _ context: APIRequestContext) async throws -> Response {
        guard let monitor = try await ledger.monitor(id), context.key?.covers(monitor.account.rawValue) ?? true else {
            throw APIError(.notFound, .notFound, "monitor \(id) does not exist")
        }
        // Deleted by another caller since it was read.
        do {
            try await ledger.deleteMonitor(id)
        } catch {
            guard error.code == .monitorNotFound else { throw error }
            throw APIError(.notFound, .notFound, error.message)
        }
        return try APIJSON.response(MonitorWire(monitor))
    }

    /// `POST /v1/webhook_endpoints`: answers with the signing secret, shown only here. A key
    /// limited to an account prefix registers endpoints scoped to it (decision 0046): their filter
    /// lies under its prefix, and they receive what the key reads from `GET /v1/events`.
    func createWebhookEndpoint(_ context: APIRequestContext, body: ByteBuffer) async throws -> Response {
        let wire = try APIJSON.decode(WebhookEndpointWire.self, from: body)
        let scope = context.key?.accountPrefix
        // No filter (absent or ""): everything the key may read.
        let prefix = wire.accountPrefix.flatMap { $0.isEmpty ? nil : $0 } ?? scope ?? ""
        if !prefix.isEmpty { try context.requireAccess(to: prefix) }
        let existing = try await ledger.webhookEndpoint(wire.id)
        if let existing, !Self.sees(existing, context) {
            // Another tenant's id: taken, without saying by whom or how.
            throw LedgerError(.existsWithDifferentFields, "webhook endpoint id \(wire.id) is taken")
        }
        let endpoint = try await ledger.createWebhookEndpoint(
            id: wire.id, url: wire.url, types: wire.types.compactMap(LedgerEvent.Kind.init(rawValue:)), accountPrefix: prefix,
            scope: scope, after: wire.after)
        return try APIJSON.response(
            WebhookEndpointWire(endpoint, showSecret: existing == nil), status: existing == nil ? .created : .ok)
    }

    /// `GET /v1/webhook_endpoints`: those the key registered under its prefix (every one for a
    /// key of the whole ledger).
    func webhookEndpoints(_ context: APIRequestContext) async throws -> Response {
        try APIJSON.response(
            ItemsWire(
                items: try await ledger.webhookEndpoints().filter { Self.sees($0, context) }.map {
                    WebhookEndpointWire($0, showSecret: false)
                }))
    }

    /// Whether the caller may see `endpoint`: a key of the whole ledger sees every one, a key
    /// limited to a prefix those scoped under it.
    static func sees(_ endpoint: WebhookEndpoint, _ context: APIRequestContext) -> Bool {
        guard let prefix = context.key?.accountPrefix else { return true }
        return endpoint.scope?.hasPrefix(prefix) ?? false
    }

    /// `DELETE /v1/webhook_endpoints/{id}`.
    func deleteWebhookEndpoint(_ id: String, _ context: APIRequestContext) async throws -> Response {
        guard let endpoint = try await ledger.webhookEndpoint(id), Self.sees(endpoint, context) else {
            throw APIError(.notFound, .notFound, "webhook endpoint \(id) does not exist")
        }
        // Deleted by another caller since it was read.
        do {
            try await ledger.deleteWebhookEndpoint(id)
        } catch {
            guard error.code == .webhookEndpointNotFound else { throw error }
            throw APIError(.notFound, .notFound, error.message)
        }
        return try APIJSON.response(WebhookEndpointWire(endpoint, showSecret: false))
    }
}

/// The last event position, refreshed at most every 100 ms however many readers wait, so that
/// long-polls cost the database one sequencing call per interval, not one per reader.
actor EventHead {
    let ledger: PostgresLedger
    private var head: Int64 = 0
    private var refreshedAt: ContinuousClock.Instant?
    private var refreshing: Task<Int64, any Error>?

    static let interval: Duration = .milliseconds(100)

    init(ledger: PostgresLedger) { self.ledger = ledger }

    /// Returns once an event beyond `position` exists, or at `deadline`.
    func wait(beyond position: Int64, until deadline: ContinuousClock.Instant) async throws {
        while ContinuousClock.now < deadline {
            if try await current() > position { return }
            try await Task.sleep(until: min(deadline, ContinuousClock.now.advanced(by: Self.interval)), clock: .continuous)
        }
    }

    private func current() async throws -> Int64 {
        if let refreshedAt, ContinuousClock.now < refreshedAt.advanced(by: Self.interval) { return head }
        if let refreshing { return try await refreshing.value }
        let ledger = ledger
        let task = Task { try await ledger.sequenceEvents() }
        refreshing = task
        defer { refreshing = nil }
        let value = try await task.value
        head = max(head, value)
        refreshedAt = .now
        return head
    }
}
