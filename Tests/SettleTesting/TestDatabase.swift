import Foundation
import Ledger
import LocalPostgres
import Logging
import PostgresNIO

/// The database the tests run on: `DATABASE_URL` if set, else a `settle_test` database in the
/// embedded cluster (started on first use). One migrated client per test process; every test uses
/// its own id prefix, so tests run in parallel and a database can be reused across runs.
public enum TestDatabase {
    public static let logger: Logger = {
        var l = Logger(label: "settle.tests")
        l.logLevel = .warning
        return l
    }()

    private static let shared = Task<(PostgresClient, DatabaseURL), any Error> {
        let url = try await resolveURL()
        let client = PostgresClient(configuration: try url.clientConfiguration(connections: 24), backgroundLogger: logger)
        Task.detached { await client.run() }
        // Let run() start first, so that the pool does not warn about a lease before it.
        try await Task.sleep(for: .milliseconds(2))
        try await PostgresLedger(client: client, logger: logger).migrate()
        return (client, url)
    }

    public static func resolveURL() async throws -> DatabaseURL {
        if let text = ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty {
            return try DatabaseURL(text)
        }
        // A new settle_test database for every run, so a run never meets an older schema.
        let local = LocalPostgres(logger: logger)
        let admin = try DatabaseURL(try await local.createDatabase(named: "settle"))
        try await admin.withClient(connections: 1, logger: logger) { client in
            try await client.query("drop database if exists settle_test with (force)", logger: logger)
        }
        return try DatabaseURL(try await local.createDatabase(named: "settle_test"))
    }

    /// A migrated ledger on the shared client.
    public static func ledger() async throws -> PostgresLedger {
        PostgresLedger(client: try await shared.value.0, logger: logger)
    }

    public static func databaseURL() async throws -> DatabaseURL { try await shared.value.1 }

    /// The shared, running client of the test database.
    public static func client() async throws -> PostgresClient { try await shared.value.0 }

    /// A fresh, migrated database of its own, for tests that corrupt or crash things; returns its
    /// URL. Dropped by ``dropIsolated(_:)``.
    public static func isolatedDatabase() async throws -> DatabaseURL {
        let client = try await shared.value.0
        let name = "settle_iso_\(UInt32.random(in: 0...UInt32.max))"
        try await client.query(PostgresQuery(unsafeSQL: "create database \(name)"), logger: logger)
        var url = try await shared.value.1
        url.database = name
        return url
    }

    /// Runs `body` with a fresh, migrated database of its own, dropped afterwards whatever
    /// `body` did.
    public static func withIsolatedDatabase<T: Sendable>(_ body: (DatabaseURL) async throws -> T) async throws -> T {
        let url = try await isolatedDatabase()
        let result: T
        do {
            result = try await body(url)
        } catch {
            try? await dropIsolated(url)
            throw error
        }
        try await dropIsolated(url)
        return result
    }

    public static func dropIsolated(_ url: DatabaseURL) async throws {
        let client = try await shared.value.0
        try await client.query(PostgresQuery(unsafeSQL: "drop database if exists \(url.database) with (force)"), logger: logger)
    }
}

/// Runs `body` with a ledger on its own client to `url` (for isolated databases).
public func withLedger<T: Sendable>(_ url: DatabaseURL, _ body: (PostgresLedger) async throws -> T) async throws -> T {
    try await url.withClient(connections: 4, logger: TestDatabase.logger) { client in
        let ledger = PostgresLedger(client: client, logger: TestDatabase.logger)
        try await ledger.migrate()
        return try await body(ledger)
    }
}

extension DatabaseURL {
    /// The URL with its password, as a `settle` child process takes it on `--database-url`
    /// (``description`` leaves the password out).
    public var commandLineText: String {
        "postgres://\(username)\(password.map { ":\($0)" } ?? "")@\(host):\(port)/\(database)"
    }
}
