import ArgumentParser
import CardMock
import Foundation
import Logging
import ServiceLifecycle

/// `settle cardmock`: the Stripe-compatible card processor mock, until SIGTERM or SIGINT.
struct CardMockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cardmock", abstract: "Run the card processor mock (Stripe v1 compatible, stateful, persistent).",
        discussion: """
            Prints one JSON line once listening: {"cardmockURL": "http://HOST:PORT", "dataDir": "..."}. \
            Point stripe-python at it with stripe.api_base = cardmockURL and any sk_test_ key. State is \
            journaled in --data-dir and survives restarts; helpers live under /_mock (clock, payouts, \
            disputes, 3-D Secure, fees, shared payment tokens, deliveries).
            """)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).") var port = 12111
    @Option(help: "Data directory (default $SETTLE_HOME/cardmock, else ~/.settle/cardmock).") var dataDir: String?
    @Option(help: "Accept only this API key (default: any sk_test_… key).") var apiKey: String?
    @Option(help: "Delay before the first webhook retry in milliseconds, doubled per retry.") var webhookRetryBaseMs: Int = 1_000
    @Option(help: "Webhook attempts per event and endpoint before giving up.") var webhookMaxAttempts: Int = 8
    @Option(help: "Days from capture to available funds.") var settlementDelayDays: Int = 2

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        guard webhookRetryBaseMs >= 1 else { throw ValidationError("--webhook-retry-base-ms must be at least 1") }
        guard webhookMaxAttempts >= 1 else { throw ValidationError("--webhook-max-attempts must be at least 1") }
        guard settlementDelayDays >= 0 else { throw ValidationError("--settlement-delay-days must not be negative") }
    }

    func run() async throws {
        var logger = Logger(label: "settle.cardmock")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let directory = dataDir ?? Self.defaultDataDirectory()
        let configuration = CardMockConfiguration(
            host: host, port: port, dataDirectory: directory, apiKey: apiKey,
            webhookRetryBase: .milliseconds(webhookRetryBaseMs), webhookMaxAttempts: webhookMaxAttempts,
            settlementDelayDays: Int64(settlementDelayDays))
        let host = self.host
        try await CommandLifecycle.run(logger: logger) { [logger] in
            try await cancelWhenGracefulShutdown { try await CardMockServer.waitForDataDirectory(of: configuration, logger: logger) }
            let app = try CardMockServer.application(
                configuration: configuration, logger: logger,
                onServerRunning: { channel in
                    let port = CardMockServer.boundPort(channel) ?? 0
                    let line: [String: String] = ["cardmockURL": "http://\(host):\(port)", "dataDir": directory]
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    if let data = try? encoder.encode(line) {
                        FileHandle.standardOutput.write(data + Data("\n".utf8))
                    }
                })
            try await ServiceGroup(configuration: .init(services: [app], logger: logger)).run()
        }
    }

    static func defaultDataDirectory() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["SETTLE_HOME"], !home.isEmpty { return home + "/cardmock" }
        return FileManager.default.homeDirectoryForCurrentUser.path + "/.settle/cardmock"
    }
}
