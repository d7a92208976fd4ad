import Foundation
import HTTPTypes
import Ledger
import Logging
import PostgresNIO
import Synchronization

/// API keys in the database, with a short-lived cache of verified keys.
///
/// The cache keeps a hot path free of a database round trip per request. A key is re-read once it
/// is ``cacheTTL`` old, by one request while the others keep the cached answer (at most until it is
/// twice that old): a revoked key stops working within about that time on every server (the CLI
/// that revokes it runs in another process). A TTL of zero checks the database on every request.
public final class APIKeyStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    public let cacheTTL: Duration

    private struct Cached {
        var key: APIKey
        var secretHash: [UInt8]
        var fetched: ContinuousClock.Instant
        /// One request is re-reading the key; the others keep the cached answer meanwhile, so an
        /// expiry under load costs one query, not one per request in flight.
        var refreshing = false
    }
    private let cache = Mutex([String: Cached]())

    public init(client: PostgresClient, cacheTTL: Duration = .seconds(2), logger: Logger = Logger(label: "settle.keys")) {
        self.client = client
        self.cacheTTL = cacheTTL
        self.logger = logger
    }

    /// Creates a key and returns it with its token, which is not stored and cannot be shown again.
    ///
    /// An account prefix must end with `:`, the separator of account paths: `agent:` covers
    /// `agent:a`, while `agent` would also cover `agent2:a`, another tenant.
    public func create(scope: APIKey.Scope, accountPrefix: String?, label: String) async throws(APIError) -> (key: APIKey, token: String) {
        if let accountPrefix, accountPrefix.isEmpty || !accountPrefix.hasSuffix(":") {
            throw APIError(
                .invalidRequest, .badRequest,
                "the account prefix must end with ':' (e.g. agent:), or it would also cover accounts of other prefixes (agent2:)")
        }
        let token = APIKeyToken.generate()
        let hash = ByteBuffer(bytes: token.secretHash)
        let created: Date = try await database {
            let rows = try await client.query(
                """
                insert into settle.api_keys (id, secret_sha256, scope, account_prefix, label)
                values (\(token.id), \(hash), \(scope.rawValue), \(accountPrefix), \(label)) returning created_at
                """, logger: logger)
            for try await created in rows.decode(Date.self) { return created }
            throw APIError(.internalError, .internalServerError, "the key was not stored")
        }
        let key = APIKey(id: token.id, scope: scope, accountPrefix: accountPrefix, label: label, createdAt: created, revokedAt: nil)
        return (key, token.text)
    }

    /// Revokes a key. Returns false when no such key exists; revoking twice is not an error.
    @discardableResult
    public func revoke(id: String) async throws(APIError) -> Bool {
        let found: Bool = try await database {
            let rows = try await client.query(
                "update settle.api_keys set revoked_at = coalesce(revoked_at, now()) where id = \(id) returning id", logger: logger)
            for try await _ in rows.decode(String.self) { return true }
            return false
        }
        _ = cache.withLock { $0.removeValue(forKey: id) }
        return found
    }

    /// Every key, revoked ones included, oldest first.
    public func list() async throws(APIError) -> [APIKey] {
        try await database {
            var keys: [APIKey] = []
            let rows = try await client.query(
                "select id, scope, account_prefix, label, created_at, revoked_at from settle.api_keys order by created_at, id",
                logger: logger)
            for try await (id, scope, prefix, label, created, revoked) in rows.decode((String, String, String?, String, Date, Date?).self) {
                keys.append(
                    APIKey(
                        id: id, scope: APIKey.Scope(rawValue: scope) ?? .read, accountPrefix: prefix, label: label, createdAt: created,
                        revokedAt: revoked))
            }
            return keys
        }
    }

    /// The live key a bearer token names, or nil when it is unknown, wrong or revoked.
    func verify(_ token: APIKeyToken) async throws(APIError) -> APIKey? {
        let now = ContinuousClock.now
        let hash = token.secretHash
        let ttl = cacheTTL
        let cached = cache.withLock { cache -> Cached? in
            guard var entry = cache[token.id] else { return nil }
            if now - entry.fetched < ttl { return entry }
            if entry.refreshing && now - entry.fetched < ttl * 2 { return entry }
            entry.refreshing = true
            cache[token.id] = entry
            return nil
        }
        if let cached {
            return constantTimeEqual(cached.secretHash, hash) ? cached.key : nil
        }
        let row: (APIKey, [UInt8])? = try await database {
            let rows = try await client.query(
                """
                select scope, account_prefix, label, created_at, secret_sha256 from settle.api_keys
                 where id = \(token.id) and revoked_at is null
                """, logger: logger)
            for try await (scope, prefix, label, created, stored) in rows.decode((String, String?, String, Date, ByteBuffer).self) {
                let key = APIKey(
                    id: token.id, scope: APIKey.Scope(rawValue: scope) ?? .read, accountPrefix: prefix, label: label, createdAt: created,
                    revokedAt: nil)
                return (key, Array(buffer: stored))
            }
            return nil
        }
        guard let (key, stored) = row else {
            _ = cache.withLock { $0.removeValue(forKey: token.id) }
            return nil
        }
        if cacheTTL > .zero {
            cache.withLock { $0[token.id] = Cached(key: key, secretHash: stored, fetched: now) }
        }
        return constantTimeEqual(stored, hash) ? key : nil
    }

    private func database<T>(_ body: () async throws -> sending T) async throws(APIError) -> sending T {
        do {
            return try await body()
        } catch let error as APIError {
            throw error
        } catch {
            logger.error("API key store failed", metadata: ["error": "\(String(reflecting: error))"])
            throw APIError(.databaseUnavailable, .serviceUnavailable, "the database is unavailable")
        }
    }
}
