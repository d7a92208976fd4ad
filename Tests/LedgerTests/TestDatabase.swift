import Foundation
import Ledger
import LocalPostgres
import Logging
import PostgresNIO
import Testing

/// The database the tests run on: `DATABASE_URL` if set, else a `settle_test` database in the
/// embedded cluster (started on first use). One migrated client per test process; every test uses
/// its own id prefix, so tests run in parallel and a database can be reused across runs.
enum TestDatabase {
    static let logger: Logger = {
        var l = Logger(label: "settle.tests")
        l.logLevel = .warning
        return l
    }()

    private static let shared = Task<(PostgresClient, DatabaseURL), any Error> {
        let url = try await resolveURL()
        let client = PostgresClient(configuration: try url.clientConfiguration(connections: 24), backgroundLogger: logger)
        Task.detached { await client.run() }
        try await PostgresLedger(client: client, logger: logger).migrate()
        return (client, url)
    }

    static func resolveURL() async throws -> DatabaseURL {
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
    static func ledger() async throws -> PostgresLedger {
        PostgresLedger(client: try await shared.value.0, logger: logger)
    }

    static func databaseURL() async throws -> DatabaseURL { try await shared.value.1 }

    /// A fresh, migrated database of its own, for tests that corrupt or crash things; returns its
    /// URL. Dropped by ``dropIsolated(_:)``.
    static func isolatedDatabase() async throws -> DatabaseURL {
        let client = try await shared.value.0
        let name = "settle_iso_\(UInt32.random(in: 0...UInt32.max))"
        try await client.query(PostgresQuery(unsafeSQL: "create database \(name)"), logger: logger)
        var url = try await shared.value.1
        url.database = name
        return url
    }

    static func dropIsolated(_ url: DatabaseURL) async throws {
        let client = try await shared.value.0
        try await client.query(PostgresQuery(unsafeSQL: "drop database if exists \(url.database) with (force)"), logger: logger)
    }
}

/// Runs `body` with a ledger on its own client to `url` (for isolated databases).
func withLedger<T: Sendable>(_ url: DatabaseURL, _ body: (PostgresLedger) async throws -> T) async throws -> T {
    try await url.withClient(connections: 4, logger: TestDatabase.logger) { client in
        let ledger = PostgresLedger(client: client, logger: TestDatabase.logger)
        try await ledger.migrate()
        return try await body(ledger)
    }
}

/// A little chart of accounts under a unique prefix, for one test.
struct Books {
    let ledger: PostgresLedger
    let prefix: String
    let asset: AssetID

    static func make(_ name: String = #function, scale: Int = 6) async throws -> Books {
        let ledger = try await TestDatabase.ledger()
        let prefix = "t\(UInt32.random(in: 0...UInt32.max))"
        let asset = try AssetID("\(prefix)-usd")
        let results = try await ledger.createAssets([Asset(id: asset, code: "USD", scale: scale)])
        #expect(results == [.created])
        return Books(ledger: ledger, prefix: prefix, asset: asset)
    }

    func id(_ s: String) -> AccountID { AccountID(stringLiteral: "\(prefix):\(s)") }
    func tid(_ s: String) -> TransferID { TransferID(stringLiteral: "\(prefix):\(s)") }

    /// Creates accounts: names ending in `!` get a no-overdraft limit, names starting with `@` are debit-normal.
    @discardableResult
    func accounts(_ names: String...) async throws -> [AccountID] {
        let accounts = names.map { name -> Account in
            let limited = name.hasSuffix("!")
            let clean = name.replacingOccurrences(of: "!", with: "")
            return Account(
                id: id(clean), asset: asset, normalSide: clean.hasPrefix("@") ? .debit : .credit,
                limit: limited ? .debitsMustNotExceedCredits : .none)
        }
        let results = try await ledger.createAccounts(accounts)
        #expect(results.allSatisfy { $0 == .created }, "\(results)")
        return accounts.map(\.id)
    }

    func post(_ id: String, _ postings: [Posting], metadata: Metadata = [:]) async throws -> TransferResult {
        try await ledger.post(NewTransfer(id: tid(id), .post(postings), metadata: metadata))
    }

    func balance(_ account: String) async throws -> Balance {
        try await ledger.balance(of: id(account))
    }
}

extension TransferResult {
    var isCreated: Bool { if case .created = self { true } else { false } }
    var isExists: Bool { if case .exists = self { true } else { false } }
    var code: LedgerError.Code? { error?.code }
}

/// Ids built by interpolation in tests (`"\(prefix):a"`); an invalid one traps.
extension LedgerID: ExpressibleByStringInterpolation {}
