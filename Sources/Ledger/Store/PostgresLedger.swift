import Logging
import PostgresNIO

/// The ledger, stored in PostgreSQL.
///
/// All writes of transfers go through one database function per batch (`settle.post_transfers`),
/// which checks every invariant inside the database. This type encodes requests, maps results to
/// typed values, and retries a batch that lost a race (deadlock, serialization failure, a
/// concurrent insert of the same key): a retried batch sees the winner's rows and answers `exists`.
///
/// The ``PostgresClient`` must be running (`client.run()` in a task or a `ServiceGroup`).
public struct PostgresLedger: Sendable {
    /// The most transfers one call to ``post(_:atomic:)`` takes.
    public static let maxBatchSize = 10_000

    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger = Logger(label: "settle.ledger")) {
        self.client = client
        self.logger = logger
    }

    /// Applies the migrations that are missing, in one transaction, under an advisory lock so that
    /// concurrent callers apply each migration once. Safe to call any number of times.
    /// - Returns: the versions applied by this call.
    @discardableResult
    public func migrate() async throws(LedgerError) -> [Int] {
        try await migrate(through: .max)
    }

    /// The schema version this release migrates to.
    public static var schemaVersion: Int { Migration.all.map(\.version).max() ?? 0 }

    /// Applies the missing migrations up to version `last`: tests build a database as an older
    /// release left it, to see a later migration carry its rows over, and `settle bench ledger
    /// --schema-through` measures an older schema beside the current one. A server always
    /// migrates to the latest (``migrate()``).
    @discardableResult
    public func migrate(through last: Int) async throws(LedgerError) -> [Int] {
        try await database {
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("select pg_advisory_xact_lock(\(Self.migrationLockKey))", logger: logger)
                try await conn.query("create schema if not exists settle", logger: logger)
                try await conn.query(
                    """
                    create table if not exists settle.schema_migrations (
                        version int primary key, name text not null, checksum text not null,
                        applied_at timestamptz not null default now())
                    """, logger: logger)
                var applied: [Int: String] = [:]
                for try await (version, checksum) in try await conn.query(
                    "select version, checksum from settle.schema_migrations", logger: logger
                ).decode((Int, String).self) {
                    applied[version] = checksum
                }
                var done: [Int] = []
                for migration in Migration.all where migration.version <= last {
                    if let checksum = applied[migration.version] {
                        guard checksum == migration.checksum else {
                            throw LedgerError(
                                .migrationChanged,
                                "migration \(migration.version) (\(migration.name)) was applied with different text; add a new migration instead of editing one"
                            )
                        }
                        continue
                    }
                    for statement in migration.statements {
                        try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await conn.query(
                        "insert into settle.schema_migrations (version, name, checksum) values (\(migration.version), \(migration.name), \(migration.checksum))",
                        logger: logger)
                    done.append(migration.version)
                }
                return done
            }
        }
    }

    private func hasMigrationsTable() async throws -> Bool {
        let rows = try await client.query("select to_regclass('settle.schema_migrations') is not null", logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    /// Whether every migration this build knows is applied.
    public func schemaIsCurrent() async throws(LedgerError) -> Bool {
        try await database {
            // Every version, not the highest: migrations numbered apart by parallel work land in any
            // order, so a database can hold v11 without v10.
            guard try await hasMigrationsTable() else { return false }
            let rows = try await client.query("select version from settle.schema_migrations", logger: logger)
            var applied = Set<Int>()
            for try await version in rows.decode(Int.self) { applied.insert(version) }
            return Migration.all.allSatisfy { applied.contains($0.version) }
        }
    }

    private static let migrationLockKey: Int64 = 0x5345_5454_4c45  // "SETTLE"

    /// Runs database work, retrying races that a retry resolves, and maps driver errors to
    /// ``LedgerError`` with code ``LedgerError/Code/database``.
    ///
    /// Every operation of the ledger is idempotent or read-only, so retrying is always safe: a
    /// batch whose connection died before the answer arrived is sent again and answers `exists`
    /// for what the first attempt committed.
    func database<T>(
        retries: Int = 3, _ body: () async throws -> sending T
    ) async throws(LedgerError) -> sending T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as LedgerError {
                throw error
            } catch let error as PostgresTransactionError where error.closureError is LedgerError {
                throw error.closureError as! LedgerError
            } catch {
                if attempt < retries, Self.isRetryable(error), !Task.isCancelled {
                    attempt += 1
                    logger.debug(
                        "retrying database work", metadata: ["error": "\(Self.describe(error))", "attempt": "\(attempt)"])
                    try? await Task.sleep(for: .milliseconds(attempt * attempt))
                    continue
                }
                // A data exception (class 22: a value the column cannot hold) is the input's fault,
                // not the database's: a 4xx, never a 503 that invites the same request again.
                if let state = Self.sqlState(of: error), state.hasPrefix("22") {
                    throw LedgerError(.invalidInput, Self.describe(error))
                }
                throw LedgerError(.database, Self.describe(error))
            }
        }
    }

    /// Lost races (deadlock, serialization failure, a concurrent insert of the same key) and lost
    /// connections (the server terminated the backend, a network error).
    static func isRetryable(_ error: any Error) -> Bool {
        if let state = sqlState(of: error) {
            return ["40P01", "40001", "23505", "57P01", "57P02", "57P03"].contains(state) || state.hasPrefix("08")
        }
        if let e = error as? PSQLError {
            return [.serverClosedConnection, .connectionError, .uncleanShutdown].contains(e.code)
        }
        if let e = error as? PostgresTransactionError {
            return [e.closureError, e.commitError, e.beginError].contains { $0.map(isRetryable) ?? false }
        }
        return false
    }

    static func sqlState(of error: any Error) -> String? {
        if let e = error as? PSQLError { return e.serverInfo?[.sqlState] }
        if let e = error as? PostgresTransactionError {
            for inner in [e.closureError, e.commitError, e.beginError] {
                if let inner, let state = sqlState(of: inner) { return state }
            }
        }
        return nil
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let info = e.serverInfo {
                let message = info[.message] ?? "error"
                let state = info[.sqlState] ?? "?"
                return "PostgreSQL \(state): \(message)" + (info[.detail].map { " (\($0))" } ?? "")
            }
            return "PostgreSQL connection error: \(e.code)" + (e.underlying.map { " (\($0))" } ?? "")
        }
        if let e = error as? PostgresTransactionError {
            for inner in [e.closureError, e.commitError, e.beginError] {
                if let inner {
                    if let ledger = inner as? LedgerError { return ledger.message }
                    return describe(inner)
                }
            }
        }
        return "\(error)"
    }
}
