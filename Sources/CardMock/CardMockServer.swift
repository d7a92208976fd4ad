import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The card processor mock: a stateful, persistent server speaking the Stripe v1 card API.
///
/// Run it in-process (tests, the card rail's tests) or through `settle cardmock`:
///
/// ```swift
/// let app = try CardMockServer.application(
///     configuration: .init(port: 0, dataDirectory: directory), logger: logger,
///     onServerRunning: { channel in print(channel.localAddress!.port!) })
/// try await app.runService()   // or put it in a ServiceGroup
/// ```
public enum CardMockServer {
    /// Builds the application. Opening the data directory happens here, so a locked or corrupt
    /// journal fails before anything listens.
    /// - Parameters:
    ///   - configuration: address, data directory, keys, webhook retry timing, fees.
    ///   - onServerRunning: called with the bound channel (its port when `configuration.port` is 0).
    /// - Throws: ``CardMockError`` when the data directory cannot be used.
    public static func application(
        configuration: CardMockConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let store = try CardMockStore(configuration: configuration, logger: logger)
        let routes = CardMockRoutes(store: store, configuration: configuration)
        return Application(
            router: routes.router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "settle-cardmock"),
            services: [CardMockService(store: store, configuration: configuration, logger: logger)],
            onServerRunning: onServerRunning,
            logger: logger)
    }

    /// Waits until no other card mock holds the configuration's data directory (one that is still
    /// stopping, say); returns at once for an in-memory mock. Cancellable.
    public static func waitForDataDirectory(of configuration: CardMockConfiguration, logger: Logger) async throws {
        guard let directory = configuration.dataDirectory else { return }
        try await Journal.waitUntilFree(directory: directory, logger: logger)
    }

    /// The port a running server's channel is bound to (what `onServerRunning` receives).
    public static func boundPort(_ channel: any Channel) -> Int? {
        channel.localAddress?.port
    }
}
