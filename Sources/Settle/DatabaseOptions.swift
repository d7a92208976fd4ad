import ArgumentParser
import Foundation
import Ledger
import LocalPostgres
import Logging
import PostgresNIO

/// Where the ledger lives: `--database-url`, else `DATABASE_URL`, else the embedded cluster.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (default: $DATABASE_URL, else the embedded database).")
    var databaseURL: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    var logger: Logger {
        var logger = Logger(label: "settle")
        logger.logLevel = logLevel
        return logger
    }

    /// Resolves the database, starting the embedded one if needed. Embedded databases are migrated
    /// on first use; an external one must be migrated with `settle migrate`.
    func resolve() async throws -> (url: DatabaseURL, embedded: Bool) {
        if let text = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty {
            return (try DatabaseURL(text), false)
        }
        let local = LocalPostgres(logger: logger)
        return (try DatabaseURL(try await local.start()), true)
    }

    /// Runs `body` with a ledger on a running connection pool, then shuts the pool down.
    func withLedger<T: Sendable>(
        connections: Int = 16, migrate: Bool = false, _ body: @Sendable (PostgresLedger) async throws -> T
    ) async throws -> T {
        let (url, embedded) = try await resolve()
        return try await url.withClient(connections: connections, logger: logger) { client in
            let ledger = PostgresLedger(client: client, logger: logger)
            if migrate || embedded {
                try await ledger.migrate()
            } else if try await !ledger.schemaIsCurrent() {
                throw LedgerError(.schemaOutdated, "the database schema is not current: run `settle migrate`")
            }
            return try await body(ledger)
        }
    }
}

extension DatabaseOptions {
    /// Runs `body` with a ledger whose schema is migrated only through `version`: on a database of
    /// its own (one with a later schema is refused, it cannot go back), for benchmarks of an older
    /// schema beside the current one.
    func withLedger<T: Sendable>(
        connections: Int, migratedThrough version: Int, _ body: @Sendable (PostgresLedger) async throws -> T
    ) async throws -> T {
        let (url, _) = try await resolve()
        return try await url.withClient(connections: connections, logger: logger) { client in
            let ledger = PostgresLedger(client: client, logger: logger)
            try await ledger.migrate(through: version)
            let rows = try await client.query("select max(version) from settle.schema_migrations", logger: logger)
            for try await latest in rows.decode(Int?.self) where (latest ?? 0) > version {
                throw CommandFailure(
                    description: "the database's schema is at version \(latest ?? 0), past \(version): use a database of its own")
            }
            return try await body(ledger)
        }
    }
}

/// Exits with a message instead of a stack of error types.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
