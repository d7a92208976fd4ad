import Configuration
import Foundation
import Logging
import Scheduler
import SystemPackage

/// What `settle worker` reads from its configuration: environment variables, then an optional JSON
/// file (`--config` or `SETTLE_CONFIG`), then these defaults. Flags override both.
///
/// | key | environment | default |
/// |---|---|---|
/// | `worker.id` | `WORKER_ID` | `<host>:<pid>` |
/// | `worker.time_zone` | `WORKER_TIME_ZONE` | `UTC` (IANA name; every job's schedule is read in it) |
/// | `worker.lease_seconds` | `WORKER_LEASE_SECONDS` | 30 |
/// | `worker.poll_seconds` | `WORKER_POLL_SECONDS` | 10 |
/// | `worker.retry_seconds` | `WORKER_RETRY_SECONDS` | 60 |
/// | `worker.shutdown_grace_seconds` | `WORKER_SHUTDOWN_GRACE_SECONDS` | 20 |
/// | `worker.holds_expire.schedule` | `WORKER_HOLDS_EXPIRE_SCHEDULE` | `* * * * *` |
/// | `worker.rails_sync.schedule` | `WORKER_RAILS_SYNC_SCHEDULE` | `*/5 * * * *` |
/// | `worker.snapshots.schedule` | `WORKER_SNAPSHOTS_SCHEDULE` | `10 0 * * *` |
/// | `worker.reconcile.schedule` | `WORKER_RECONCILE_SCHEDULE` | `30 2 * * *` |
/// | `worker.x402_pending.schedule` | `WORKER_X402_PENDING_SCHEDULE` | `* * * * *` |
/// | `worker.chain_advance.schedule` | `WORKER_CHAIN_ADVANCE_SCHEDULE` | `*/10 * * * * *` (every 10 s) |
/// | `worker.partitions.schedule` | `WORKER_PARTITIONS_SCHEDULE` | `*/10 * * * *` |
/// | `worker.chain_checkpoint.schedule` | `WORKER_CHAIN_CHECKPOINT_SCHEDULE` | `0 * * * *` (only with a key) |
/// | `worker.events_prune.schedule` | `WORKER_EVENTS_PRUNE_SCHEDULE` | `40 3 * * *` |
/// | `worker.events_retention_days` | `WORKER_EVENTS_RETENTION_DAYS` | 30 (events older leave the outbox, decision 0042) |
/// | `settle.chain_key_file` | `SETTLE_CHAIN_KEY_FILE` | none: the checkpoint signing key's file |
/// | `settle.chain_key` | `SETTLE_CHAIN_KEY` | none: the key itself, in hex (secret) |
/// | `worker.metrics_host` | `WORKER_METRICS_HOST` | `127.0.0.1` |
/// | `worker.metrics_port` | `WORKER_METRICS_PORT` | none: no metrics endpoint |
/// | `database.url` | `DATABASE_URL` | the embedded database |
/// | `database.connections` | `DATABASE_CONNECTIONS` | 4 |
/// | `log.level` | `LOG_LEVEL` | `info` |
///
/// A schedule of `off` disables its job. The command checks every schedule before starting.
struct WorkerSettings: Sendable {
    var worker = WorkerConfiguration()
    var timeZone = "UTC"
    var schedules: [String: String] = Self.defaultSchedules
    /// Where `GET /metrics` listens; no port, no endpoint.
    var metricsHost = "127.0.0.1"
    var metricsPort: Int?
    var databaseURL: String?
    var databaseConnections = 4
    var logLevel: Logger.Level = .info
    /// The checkpoint signing key: a file, or the hex key itself. Never stored in the database.
    var chainKeyFile: String?
    var chainKey: String?
    /// chain-advance's budget of links per second; nil: as fast as it can.
    var chainLinksPerSecond: Int?
    /// How long events stay in the outbox (events-prune), in seconds.
    var eventRetention: TimeInterval = 30 * 86_400

    /// The jobs `settle worker` knows, by name, with their default schedules.
    static let defaultSchedules: [String: String] = [
        "holds-expire": "* * * * *", "rails-sync": "*/5 * * * *", "snapshots": "10 0 * * *", "reconcile": "30 2 * * *",
        "x402-pending": "* * * * *", "chain-advance": "*/10 * * * * *", "chain-checkpoint": "0 * * * *",
        "webhooks": "*/2 * * * * *", "events-prune": "40 3 * * *", "partitions": "*/10 * * * *",
    ]

    /// The schedule of `job` in the configured zone, or nil if it is `off`.
    func schedule(_ job: String) throws(SchedulerError) -> Schedule? {
        guard let text = schedules[job], text.lowercased() != "off" else { return nil }
        return try Schedule(text, timeZone: timeZone)
    }

    static func load(file: String?) async throws -> WorkerSettings {
        var providers: [any ConfigProvider] = [EnvironmentVariablesProvider()]
        if let path = file ?? ProcessInfo.processInfo.environment["SETTLE_CONFIG"], !path.isEmpty {
            providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
        }
        return try WorkerSettings(reader: ConfigReader(providers: providers))
    }

    /// Reads the settings; a value of the wrong type or out of range is an error, not a default.
    init(reader: ConfigReader) throws {
        func seconds(_ key: String, _ fallback: Duration, minimum: Double) throws -> Duration {
            let configKey = ConfigKey(key)
            guard let value = reader.double(forKey: configKey) ?? reader.int(forKey: configKey).map(Double.init) else {
                if let text = reader.string(forKey: configKey), !text.isEmpty {
                    throw CommandFailure(description: "configuration \(key) must be a number of seconds, got \(text.debugDescription)")
                }
                return fallback
            }
            guard value.isFinite, value >= minimum, value <= 86_400 else {
                throw CommandFailure(description: "configuration \(key) must be between \(minimum) and 86400 seconds, got \(value)")
            }
            return .milliseconds(Int64((value * 1_000).rounded()))
        }
        if let id = reader.string(forKey: "worker.id"), !id.isEmpty { worker.id = id }
        timeZone = reader.string(forKey: "worker.time_zone", default: timeZone)
        worker.leaseDuration = try seconds("worker.lease_seconds", worker.leaseDuration, minimum: 1)
        worker.pollInterval = try seconds("worker.poll_seconds", worker.pollInterval, minimum: 0.01)
        worker.retryDelay = try seconds("worker.retry_seconds", worker.retryDelay, minimum: 0)
        worker.shutdownGrace = try seconds("worker.shutdown_grace_seconds", worker.shutdownGrace, minimum: 0)
        for job in Self.defaultSchedules.keys {
            let key = "worker.\(job.replacingOccurrences(of: "-", with: "_")).schedule"
            if let text = reader.string(forKey: ConfigKey(key)), !text.isEmpty { schedules[job] = text }
        }
        metricsHost = reader.string(forKey: "worker.metrics_host", default: metricsHost)
        if let port = reader.int(forKey: "worker.metrics_port") {
            guard (0...65_535).contains(port) else {
                throw CommandFailure(description: "configuration worker.metrics_port must be in 0...65535")
            }
            metricsPort = port
        } else if let text = reader.string(forKey: "worker.metrics_port"), !text.isEmpty {
            throw CommandFailure(description: "configuration worker.metrics_port must be an integer, got \(text.debugDescription)")
        }
        databaseURL = reader.string(forKey: "database.url").flatMap { $0.isEmpty ? nil : $0 }
        if let n = reader.int(forKey: "database.connections") {
            guard (2...100).contains(n) else { throw CommandFailure(description: "configuration database.connections must be in 2...100") }
            databaseConnections = n
        }
        chainKeyFile = reader.string(forKey: "settle.chain_key_file").flatMap { $0.isEmpty ? nil : $0 }
        chainKey = reader.string(forKey: "settle.chain_key", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        if let days = reader.int(forKey: "worker.events_retention_days") {
            guard (1...36_500).contains(days) else {
                throw CommandFailure(
                    description: "configuration worker.events_retention_days must be from 1 to 36500 (turn pruning off with its schedule)")
            }
            eventRetention = TimeInterval(days) * 86_400
        } else if let text = reader.string(forKey: "worker.events_retention_days"), !text.isEmpty {
            throw CommandFailure(
                description: "configuration worker.events_retention_days must be an integer, got \(text.debugDescription)")
        }
        if let n = reader.int(forKey: "worker.chain_links_per_second") {
            guard n >= 0 else {
                throw CommandFailure(description: "configuration worker.chain_links_per_second must be 0 (no budget) or more")
            }
            chainLinksPerSecond = n == 0 ? nil : n
        } else if let text = reader.string(forKey: "worker.chain_links_per_second"), !text.isEmpty {
            throw CommandFailure(
                description: "configuration worker.chain_links_per_second must be an integer, got \(text.debugDescription)")
        }
        let level = reader.string(forKey: "log.level", default: logLevel.rawValue)
        guard let parsed = Logger.Level(rawValue: level) else {
            throw CommandFailure(description: "configuration log.level must be one of \(Logger.Level.allCases.map(\.rawValue))")
        }
        logLevel = parsed
    }
}
