import Foundation

/// Where the ledger's events are sent by signed HTTP POST (decision 0039), and how far it got.
public struct WebhookEndpoint: Sendable, Hashable {
    public var id: String
    public var url: String
    /// The key of the HMAC-SHA256 signature (64 lowercase hex digits); shown once, when created.
    public var secret: String
    /// Event types sent ([] = every type).
    public var types: [LedgerEvent.Kind]
    /// Only events touching an account whose id starts with this ("" = every account).
    public var accountPrefix: String
    /// The account prefix of the API key that registered the endpoint; nil for a key of the whole
    /// ledger. The endpoint then receives only the events whose every account is under it, as
    /// that key reads them (``shows(_:)``).
    public var scope: String?
    /// The last position the endpoint acknowledged.
    public var deliveredThrough: Int64
    /// Failed attempts in a row; the next attempt waits longer after each.
    public var failures: Int
    public var nextAttemptAt: Date
    public var lastAttemptAt: Date?
    public var lastStatus: Int?
    public var lastError: String?
    public var createdAt: Date

    public init(
        id: String, url: String, secret: String, types: [LedgerEvent.Kind], accountPrefix: String, scope: String? = nil,
        deliveredThrough: Int64, failures: Int = 0, nextAttemptAt: Date = Date(), lastAttemptAt: Date? = nil, lastStatus: Int? = nil,
        lastError: String? = nil,
        createdAt: Date = Date()
    ) {
        self.id = id
        self.url = url
        self.secret = secret
        self.types = types
        self.accountPrefix = accountPrefix
        self.scope = scope
        self.deliveredThrough = deliveredThrough
        self.failures = failures
        self.nextAttemptAt = nextAttemptAt
        self.lastAttemptAt = lastAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.createdAt = createdAt
    }

    /// Whether `event` may go to this endpoint: every account it names is under ``scope``. (The
    /// type and ``accountPrefix`` filters are applied by the ledger when the events are read.)
    public func shows(_ event: LedgerEvent) -> Bool {
        guard let scope else { return true }
        return !event.accounts.contains { !$0.rawValue.hasPrefix(scope) }
    }
}
