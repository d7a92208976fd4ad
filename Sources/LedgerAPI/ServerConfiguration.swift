import Configuration
import HTTPTypes
import Ledger
import Logging

/// What `settle serve` reads from its configuration: environment variables, then an optional JSON
/// file, then these defaults (which work with the embedded database on loopback).
///
/// | key | environment | default |
/// |---|---|---|
/// | `http.host` | `HTTP_HOST` | `127.0.0.1` |
/// | `http.port` | `HTTP_PORT` | `8080` |
/// | `http.max_body_bytes` | `HTTP_MAX_BODY_BYTES` | 1 MiB |
/// | `database.url` | `DATABASE_URL` | the embedded database |
/// | `database.connections` | `DATABASE_CONNECTIONS` | 8 |
/// | `commit.max_batch` | `COMMIT_MAX_BATCH` | 2000 |
/// | `commit.max_in_flight` | `COMMIT_MAX_IN_FLIGHT` | 2 |
/// | `commit.min_concurrent_batch` | `COMMIT_MIN_CONCURRENT_BATCH` | 16 |
/// | `auth.key_cache_ms` | `AUTH_KEY_CACHE_MS` | 2000 |
/// | `log.level` | `LOG_LEVEL` | `info` |
public struct ServerConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var maxBodyBytes: Int
    public var databaseURL: String?
    public var databaseConnections: Int
    public var commit: GroupCommit.Configuration
    public var keyCacheTTL: Duration
    public var logLevel: Logger.Level

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, databaseURL: String? = nil, databaseConnections: Int = 8,
        commit: GroupCommit.Configuration = .init(), keyCacheTTL: Duration = .seconds(2), logLevel: Logger.Level = .info
    ) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.databaseURL = databaseURL
        self.databaseConnections = databaseConnections
        self.commit = commit
        self.keyCacheTTL = keyCacheTTL
        self.logLevel = logLevel
    }

    /// Reads the configuration; a value of the wrong type or out of range is an error, not a default.
    public init(reader: ConfigReader) throws(APIError) {
        let defaults = ServerConfiguration()
        func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(APIError) -> Int {
            let configKey = ConfigKey(key)
            if let value = reader.int(forKey: configKey) {
                guard range.contains(value) else {
                    throw APIError(.invalidConfiguration, .internalServerError, "configuration \(key) must be in \(range), got \(value)")
                }
                return value
            }
            if let text = reader.string(forKey: configKey) {
                throw APIError(
                    .invalidConfiguration, .internalServerError, "configuration \(key) must be an integer, got \(text.debugDescription)")
            }
            return fallback
        }
        host = reader.string(forKey: "http.host", default: defaults.host)
        port = try int("http.port", defaults.port, 0...65_535)
        maxBodyBytes = try int("http.max_body_bytes", defaults.maxBodyBytes, 1_024...(256 << 20))
        databaseURL = reader.string(forKey: "database.url").flatMap { $0.isEmpty ? nil : $0 }
        databaseConnections = try int("database.connections", defaults.databaseConnections, 1...500)
        commit = GroupCommit.Configuration(
            maxBatch: try int("commit.max_batch", defaults.commit.maxBatch, 1...PostgresLedger.maxBatchSize),
            maxInFlight: try int("commit.max_in_flight", defaults.commit.maxInFlight, 1...64),
            minConcurrentBatch: try int(
                "commit.min_concurrent_batch", defaults.commit.minConcurrentBatch, 1...PostgresLedger.maxBatchSize))
        keyCacheTTL = .milliseconds(try int("auth.key_cache_ms", 2_000, 0...3_600_000))
        let level = reader.string(forKey: "log.level", default: defaults.logLevel.rawValue)
        guard let parsed = Logger.Level(rawValue: level) else {
            throw APIError(
                .invalidConfiguration, .internalServerError,
                "configuration log.level must be one of \(Logger.Level.allCases.map(\.rawValue))")
        }
        logLevel = parsed
    }
}
