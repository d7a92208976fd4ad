import Foundation
import Ledger
import Timestamps

/// One event as `GET /v1/events`, webhooks and `settle events tail` show it: its id, position,
/// type, when it was recorded, and what it is about (the transfer or account as the API shows them
/// elsewhere, or the monitor's firing).
struct EventWire: Encodable, Sendable {
    var event: LedgerEvent

    enum CodingKeys: String, CodingKey {
        case id, position, type, data
        case recordedAt = "recorded_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(event.id, forKey: .id)
        try c.encode(event.position, forKey: .position)
        try c.encode(event.kind.rawValue, forKey: .type)
        try c.encode(event.recordedAt, forKey: .recordedAt)
        switch event.subject {
        case .transfer(let transfer): try c.encode(TransferWire(transfer: transfer), forKey: .data)
        case .account(let account): try c.encode(AccountWire(account), forKey: .data)
        case .monitor(let firing): try c.encode(FiringWire(firing: firing), forKey: .data)
        }
    }
}

struct FiringWire: Encodable, Sendable {
    var firing: BalanceMonitor.Firing

    enum CodingKeys: String, CodingKey {
        case monitor, account, balance, `operator`, threshold, value, transfer
        case accountVersion = "account_version"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(firing.monitor, forKey: .monitor)
        try c.encode(firing.account, forKey: .account)
        try c.encode(firing.measure.rawValue, forKey: .balance)
        try c.encode(firing.operator.rawValue, forKey: .operator)
        try c.encode(firing.threshold, forKey: .threshold)
        try c.encode(firing.value, forKey: .value)
        try c.encode(firing.transfer, forKey: .transfer)
        try c.encode(firing.accountVersion, forKey: .accountVersion)
    }
}

/// `GET /v1/events`: the events, the cursor to read after next, and the last position recorded.
struct EventPageWire: Encodable, Sendable {
    var events: [LedgerEvent]
    var next: Int64
    var head: Int64

    enum CodingKeys: String, CodingKey {
        case items, head
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(events.map(EventWire.init), forKey: .items)
        try c.encode(String(next), forKey: .nextCursor)
        try c.encode(String(head), forKey: .head)
    }
}

/// The events' JSON for the webhook deliverer and the command line, the same as the API's.
public enum EventJSON {
    /// One event as a JSON object.
    public static func event(_ event: LedgerEvent) throws -> [UInt8] {
        Array(try APIJSON.encoder().encode(EventWire(event: event)))
    }

    /// A webhook's body: `{"items": [...]}` with the events in position order.
    public static func delivery(_ events: [LedgerEvent]) throws -> [UInt8] {
        Array(try APIJSON.encoder().encode(ItemsWire(items: events.map(EventWire.init))))
    }
}

/// A balance monitor as the API reads (`POST /v1/monitors`) and writes it.
struct MonitorWire: Codable, Sendable {
    var monitor: BalanceMonitor
    /// Only in answers to a creation: whether the condition holds now (it fires on the next crossing).
    var holdsNow: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, account, balance, `operator`, threshold, rearm, armed
        case createdAt = "created_at"
        case holdsNow = "holds_now"
    }
    private enum RequestKeys: String, CodingKey, CaseIterable {
        case id, account, balance, `operator`, threshold, rearm
    }

    init(_ monitor: BalanceMonitor, holdsNow: Bool? = nil) {
        self.monitor = monitor
        self.holdsNow = holdsNow
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(RequestKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let measureText = try c.decode(String.self, forKey: .balance)
        guard let measure = BalanceMonitor.Measure(rawValue: measureText) else {
            throw DecodingError.dataCorruptedError(forKey: .balance, in: c, debugDescription: "balance is available or posted")
        }
        let operatorText = try c.decode(String.self, forKey: .operator)
        guard let op = BalanceMonitor.Operator(rawValue: operatorText) else {
            throw DecodingError.dataCorruptedError(forKey: .operator, in: c, debugDescription: "operator is lt, lte, gt or gte")
        }
        let id = try c.decode(String.self, forKey: .id)
        guard BalanceMonitor.isValidID(id) else {
            throw DecodingError.dataCorruptedError(
                forKey: .id, in: c,
                debugDescription: "a monitor id is 1-128 characters of [A-Za-z0-9._:/@+-] starting with a letter or digit")
        }
        monitor = BalanceMonitor(
            id: id, account: try c.decode(AccountID.self, forKey: .account), measure: measure, operator: op,
            threshold: try c.decode(SignedAmount.self, forKey: .threshold),
            rearm: try c.decodeUnlessAbsent(SignedAmount.self, forKey: .rearm))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(monitor.id, forKey: .id)
        try c.encode(monitor.account, forKey: .account)
        try c.encode(monitor.measure.rawValue, forKey: .balance)
        try c.encode(monitor.operator.rawValue, forKey: .operator)
        try c.encode(monitor.threshold, forKey: .threshold)
        try c.encodeIfPresent(monitor.rearm, forKey: .rearm)
        try c.encodeIfPresent(monitor.armed, forKey: .armed)
        try c.encodeIfPresent(monitor.createdAt, forKey: .createdAt)
        try c.encodeIfPresent(holdsNow, forKey: .holdsNow)
    }
}

/// A webhook endpoint as the API reads (`POST /v1/webhook_endpoints`) and writes it. The secret is
/// shown only in the answer to its creation.
struct WebhookEndpointWire: Codable, Sendable {
    var id: String
    var url: String
    var types: [String]
    /// Absent in a request: the key's own prefix (every account for a key of the whole ledger).
    var accountPrefix: String?
    var after: Int64?
    var endpoint: WebhookEndpoint?
    var showSecret = false

    enum CodingKeys: String, CodingKey {
        case id, url, types, after, secret, failures, scope
        case accountPrefix = "account_prefix"
        case deliveredThrough = "delivered_through"
        case nextAttemptAt = "next_attempt_at"
        case lastAttemptAt = "last_attempt_at"
        case lastStatus = "last_status"
        case lastError = "last_error"
        case createdAt = "created_at"
    }
    private enum RequestKeys: String, CodingKey {
        case id, url, types, after
        case accountPrefix = "account_prefix"
    }

    init(_ endpoint: WebhookEndpoint, showSecret: Bool) {
        id = endpoint.id
        url = endpoint.url
        types = endpoint.types.map(\.rawValue)
        accountPrefix = endpoint.accountPrefix
        self.endpoint = endpoint
        self.showSecret = showSecret
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(RequestKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        url = try c.decode(String.self, forKey: .url)
        types = try c.decodeUnlessAbsent([String].self, forKey: .types) ?? []
        for type in types where LedgerEvent.Kind(rawValue: type) == nil {
            throw DecodingError.dataCorruptedError(
                forKey: .types, in: c,
                debugDescription:
                    "unknown event type \(type); types are \(LedgerEvent.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        accountPrefix = try c.decodeUnlessAbsent(String.self, forKey: .accountPrefix)
        if let text = try c.decodeUnlessAbsent(String.self, forKey: .after) {
            guard let position = EventCursor.parse(text) else {
                throw DecodingError.dataCorruptedError(forKey: .after, in: c, debugDescription: "after is an event cursor: digits")
            }
            after = position
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(url, forKey: .url)
        try c.encode(types, forKey: .types)
        try c.encode(accountPrefix ?? "", forKey: .accountPrefix)
        guard let endpoint else { return }
        try c.encode(endpoint.scope, forKey: .scope)
        if showSecret { try c.encode(endpoint.secret, forKey: .secret) }
        try c.encode(String(endpoint.deliveredThrough), forKey: .deliveredThrough)
        try c.encode(endpoint.failures, forKey: .failures)
        try c.encode(endpoint.nextAttemptAt, forKey: .nextAttemptAt)
        try c.encode(endpoint.lastAttemptAt, forKey: .lastAttemptAt)
        try c.encode(endpoint.lastStatus, forKey: .lastStatus)
        try c.encode(endpoint.lastError, forKey: .lastError)
        try c.encode(endpoint.createdAt, forKey: .createdAt)
    }
}

/// Event cursors on the wire: a position in decimal digits, at most 18 of them.
enum EventCursor {
    static func parse(_ text: some StringProtocol) -> Int64? {
        guard (1...18).contains(text.utf8.count), text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return nil
        }
        return Int64(text)
    }
}
