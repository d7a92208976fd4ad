import Configuration
import Foundation
import Ledger
import LedgerAPI
import Logging
import SystemPackage
import Testing

@Suite("Server configuration")
struct ServerConfigurationTests {
    @Test func defaultsWorkWithNothingSet() throws {
        let configuration = try ServerConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: [:])))
        #expect(configuration == ServerConfiguration())
        #expect(configuration.host == "127.0.0.1" && configuration.port == 8080 && configuration.databaseURL == nil)
    }

    @Test func environmentOverridesTheFile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("settle-config-\(UInt32.random(in: 0...UInt32.max)).json")
        try Data(
            #"{"http": {"port": 9000, "host": "0.0.0.0", "max_body_bytes": 2048}, "commit": {"max_batch": 500}, "log": {"level": "debug"}}"#
                .utf8
        )
        .write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let reader = ConfigReader(providers: [
            EnvironmentVariablesProvider(environmentVariables: [
                "HTTP_PORT": "9100", "DATABASE_URL": "postgres://u@db:5432/settle", "AUTH_KEY_CACHE_MS": "0",
            ]),
            try await FileProvider<JSONSnapshot>(filePath: .init(file.path)),
        ])
        let configuration = try ServerConfiguration(reader: reader)
        #expect(configuration.port == 9100)
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.maxBodyBytes == 2048)
        #expect(configuration.commit.maxBatch == 500)
        #expect(configuration.databaseURL == "postgres://u@db:5432/settle")
        #expect(configuration.keyCacheTTL == .zero)
        #expect(configuration.logLevel == .debug)
    }

    @Test(arguments: [
        ["HTTP_PORT": "eighty"], ["HTTP_PORT": "70000"], ["COMMIT_MAX_BATCH": "0"], ["HTTP_MAX_BODY_BYTES": "12"], ["LOG_LEVEL": "loud"],
    ])
    func badValuesAreErrorsNotDefaults(_ environment: [String: String]) throws {
        #expect(throws: APIError.self) {
            try ServerConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment)))
        }
    }
}
