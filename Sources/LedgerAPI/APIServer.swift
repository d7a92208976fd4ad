import Hummingbird
import Ledger
import Logging
import Metrics
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// The HTTP service: the ledger API on Hummingbird, with the group committer and the connection
/// pool as services of the same group.
///
/// Shutdown runs in reverse order of start: the server stops accepting and finishes the requests in
/// flight (whose transfers are queued or committing), then the committer commits what is queued,
/// then the pool closes.
public enum APIServer {
    /// Builds the application. Run it (or put it in a `ServiceGroup`) to serve.
    /// - Parameters:
    ///   - client: a pool that the application runs as one of its services.
    ///   - webhooks: takes `POST /v1/rails/{id}/webhooks`; without it that route answers 404.
    ///   - beforeServing: work that needs the pool and must finish before the port opens (migrations).
    ///   - onServerRunning: called with the bound channel (its port when `configuration.port` is 0).
    public static func application(
        client: PostgresClient, configuration: ServerConfiguration, logger: Logger,
        webhooks: WebhookReceiver? = nil,
        beforeServing: @escaping @Sendable (PostgresLedger) async throws -> Void = { _ in },
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in },
        addRoutes: (Router<APIRequestContext>) -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let ledger = PostgresLedger(client: client, logger: logger)
        let commit = GroupCommit(ledger: ledger, configuration: configuration.commit)
        let reads = BalanceReads(ledger: ledger)
        let keys = APIKeyStore(client: client, cacheTTL: configuration.keyCacheTTL, logger: logger)
        let metrics = APIMetrics.shared
        Gauge(label: "settle_db_pool_max_connections").record(configuration.databaseConnections)
        let routes = LedgerRoutes(
            ledger: ledger, commit: commit, reads: reads, keys: keys, maxBodyBytes: configuration.maxBodyBytes, metrics: metrics,
            webhooks: webhooks)
        let router = routes.router().0
        addRoutes(router)
        var app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "settle"),
            services: [client, commit, reads],
            onServerRunning: onServerRunning,
            logger: logger)
        app.beforeServerStarts { try await beforeServing(ledger) }
        return app
    }
}
