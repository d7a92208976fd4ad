import ArgumentParser
import Configuration
import Foundation
import Hummingbird
import Ledger
import LedgerAPI
import LocalPostgres
import Logging
import PostgresNIO
import RailKit
import ServiceLifecycle
import SystemPackage
import X402

/// `settle serve`: the ledger API over HTTP until SIGTERM or SIGINT, then a graceful shutdown.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the ledger API over HTTP.",
        discussion: """
            Configuration comes from the environment (HTTP_HOST, HTTP_PORT, HTTP_MAX_BODY_BYTES, DATABASE_URL, \
            DATABASE_CONNECTIONS, COMMIT_MAX_BATCH, COMMIT_MAX_IN_FLIGHT, COMMIT_MIN_CONCURRENT_BATCH, AUTH_KEY_CACHE_MS, LOG_LEVEL), then \
            from the JSON file given with --config or SETTLE_CONFIG (keys http.port, database.url, ...), then \
            defaults. Flags override both. Without DATABASE_URL the embedded database is started and migrated.
            """)

    @Option(help: "A JSON configuration file.") var config: String?
    @Option(help: "Address to listen on.") var host: String?
    @Option(help: "Port to listen on (0: any free port).") var port: Int?
    @Option(help: "The rails file (default: $SETTLE_RAILS): rails whose webhooks are taken at /v1/rails/{id}/webhooks.")
    var rails: String?
    @Option(
        help: """
            An x402 facilitator file (default: $SETTLE_X402_FACILITATOR): serve /verify, /settle and /supported for other x402 \
            servers, settling and booking their payments (see docs/x402-facilitator.md).
            """)
    var x402Facilitator: String?

    func run() async throws {
        let configuration = try await Self.load(file: config, host: host, port: port)
        let logger = {
            var logger = Logger(label: "settle")
            logger.logLevel = configuration.logLevel
            return logger
        }()
        try await CommandLifecycle.run(logger: logger) { try await serve(configuration, logger: logger) }
    }

    private func serve(_ configuration: ServerConfiguration, logger: Logger) async throws {
        let (url, embedded) = try await cancelWhenGracefulShutdown { try await Self.database(configuration, logger: logger) }
        let client = PostgresClient(
            configuration: try url.clientConfiguration(connections: configuration.databaseConnections), backgroundLogger: logger)
        let rails = try await ShippedRails.registry.make(try ShippedRails.configurations(rails), logger: logger)
        let booker = RailBooker(ledger: PostgresLedger(client: client, logger: logger))
        let facilitator = try (x402Facilitator ?? ProcessInfo.processInfo.environment["SETTLE_X402_FACILITATOR"]).flatMap {
            (path) throws(X402FacilitatorFileError) -> X402FacilitatorFile.Built? in
            guard !path.isEmpty else { return nil }
            return try X402FacilitatorFile.load(path).build(
                ledger: PostgresLedger(client: client, logger: logger), loopback: Self.isLoopback(configuration.host), logger: logger)
        }
        let app = APIServer.application(
            client: client, configuration: configuration, logger: logger,
            webhooks: ShippedRails.webhookReceiver(rails: rails, booker: booker, logger: logger),
            beforeServing: { ledger in
                if embedded {
                    _ = try await ledger.migrate()
                } else if try await !ledger.schemaIsCurrent() {
                    throw LedgerError(.schemaOutdated, "the database schema is not current: run `settle migrate`")
                }
                for rail in rails { try await booker.install(rail.descriptor) }
            },
            onServerRunning: { channel in
                logger.notice(
                    "serving the ledger API",
                    metadata: [
                        "address": "\(channel.localAddress.map { "\($0)" } ?? "?")", "database": "\(url)",
                        "x402_facilitator": "\(facilitator.map { $0.path } ?? "off")",
                    ])
            },
            addRoutes: { router in
                guard let facilitator else { return }
                X402FacilitatorRoutes.add(
                    to: router.group(RouterPath(facilitator.path)), facilitator: facilitator.facilitator, access: facilitator.access)
            })
        var failure: (any Error)?
        do {
            try await ServiceGroup(configuration: .init(services: [app], logger: logger)).run()
        } catch {
            failure = error
        }
        for rail in rails { await rail.shutdown() }
        if let failure { throw failure }
    }

    static func load(file: String?, host: String?, port: Int?) async throws -> ServerConfiguration {
        var providers: [any ConfigProvider] = [EnvironmentVariablesProvider()]
        if let path = file ?? ProcessInfo.processInfo.environment["SETTLE_CONFIG"], !path.isEmpty {
            providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
        }
        var configuration = try ServerConfiguration(reader: ConfigReader(providers: providers))
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        return configuration
    }

    static func isLoopback(_ host: String) -> Bool {
        ["127.0.0.1", "::1", "localhost"].contains(host.lowercased())
    }

    static func database(_ configuration: ServerConfiguration, logger: Logger) async throws -> (DatabaseURL, embedded: Bool) {
        if let text = configuration.databaseURL { return (try DatabaseURL(text), false) }
        return (try DatabaseURL(try await LocalPostgres(logger: logger).start()), true)
    }
}
