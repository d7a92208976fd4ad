import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// A parsed `postgres://user:password@host:port/database?sslmode=…` URL.
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// `disable` (default for loopback), `prefer` or `require`.
    public var sslMode: String

    public init(_ text: String) throws(LedgerError) {
        guard let c = URLComponents(string: text), ["postgres", "postgresql"].contains(c.scheme ?? ""),
            let host = c.host, !host.isEmpty
        else {
            throw LedgerError(.invalidDatabaseURL, "DATABASE_URL must look like postgres://user:password@host:5432/database")
        }
        self.host = host
        self.port = c.port ?? 5432
        self.username = c.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = c.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        self.database = path.isEmpty ? username : path
        let mode = c.queryItems?.first(where: { $0.name == "sslmode" })?.value
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(host)
        self.sslMode = mode ?? (loopback ? "disable" : "prefer")
        guard ["disable", "prefer", "require"].contains(sslMode) else {
            throw LedgerError(.invalidDatabaseURL, "sslmode must be disable, prefer or require")
        }
    }

    /// The URL with the password hidden, for logs.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    /// A client configuration for this database with `connections` pooled connections.
    public func clientConfiguration(connections: Int = 16) throws(LedgerError) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        default:
            let configuration = TLSConfiguration.makeClientConfiguration()
            tls = sslMode == "require" ? .require(configuration) : .prefer(configuration)
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = connections
        configuration.options.minimumConnections = 0
        return configuration
    }
}

extension DatabaseURL {
    /// Runs `body` with a connection pool to this database that is running for the body's
    /// duration, then shuts the pool down.
    public func withClient<T: Sendable>(
        connections: Int, logger: Logger, _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: try clientConfiguration(connections: connections), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            // Queries wait for run() anyway; letting it start first keeps the pool from logging a
            // warning about a lease before run().
            try await Task.sleep(for: .milliseconds(2))
            return try await body(client)
        }
    }
}
