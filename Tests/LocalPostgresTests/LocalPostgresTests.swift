import Foundation
import SettleTesting
import Testing

@testable import LocalPostgres

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Tests of the embedded PostgreSQL manager. The lifecycle tests create real clusters (with the
/// system's PostgreSQL programs) in temporary directories on random free ports, and stop them.
@Suite("LocalPostgres")
struct LocalPostgresTests {
    // MARK: Configuration

    @Test func configurationPrefersSettleHome() {
        let configuration = LocalPostgres.Configuration.resolve(
            environment: ["SETTLE_HOME": "/srv/settle/", "HOME": "/home/alice", "SETTLE_PG_PORT": "6543"],
            isRoot: true
        )
        #expect(configuration.dataDirectory == "/srv/settle/postgres")
        #expect(configuration.port == 6543)
    }

    @Test func configurationForRootUsesVarLib() {
        let configuration = LocalPostgres.Configuration.resolve(
            environment: ["HOME": "/root", "XDG_DATA_HOME": "/root/.data"],
            isRoot: true
        )
        #expect(configuration.dataDirectory == "/var/lib/settle/postgres")
        #expect(configuration.port == LocalPostgres.Configuration.defaultPort)
        #expect(configuration.port == 55432)
    }

    @Test func configurationForUsersFollowsXDG() {
        let xdg = LocalPostgres.Configuration.resolve(
            environment: ["HOME": "/home/alice", "XDG_DATA_HOME": "/home/alice/data"],
            isRoot: false
        )
        #expect(xdg.dataDirectory == "/home/alice/data/settle/postgres")
        let home = LocalPostgres.Configuration.resolve(environment: ["HOME": "/home/alice"], isRoot: false)
        #expect(home.dataDirectory == "/home/alice/.local/share/settle/postgres")
    }

    @Test(arguments: ["", "abc", "0", "70000", "-1"])
    func configurationIgnoresInvalidPorts(_ value: String) {
        let configuration = LocalPostgres.Configuration.resolve(
            environment: ["SETTLE_HOME": "/x", "SETTLE_PG_PORT": value],
            isRoot: false
        )
        #expect(configuration.port == 55432)
    }

    @Test func publicDefaultReadsTheGivenEnvironment() {
        let configuration = LocalPostgres.Configuration.default(environment: ["SETTLE_HOME": "/tmp/sh", "SETTLE_PG_PORT": "7000"])
        #expect(configuration == LocalPostgres.Configuration(dataDirectory: "/tmp/sh/postgres", port: 7000))
    }

    // MARK: Pure helpers

    @Test func managedBlockIsReplacedNotDuplicated() {
        let original = "max_connections = 100\n#port = 5432\n"
        let first = ClusterController.replacingManagedBlock(in: original, with: ["port = 1"])
        #expect(first.hasPrefix(original))
        #expect(first.contains("port = 1"))
        let second = ClusterController.replacingManagedBlock(in: first, with: ["port = 2"])
        #expect(!second.contains("port = 1"))
        #expect(second.contains("port = 2"))
        #expect(second.components(separatedBy: "# BEGIN settle managed settings").count == 2)
        #expect(ClusterController.replacingManagedBlock(in: second, with: ["port = 2"]) == second)
    }

    @Test func managedSettingsContainTheLedgerTuning() {
        let settings = ClusterController.managedSettings(port: 6000, socketDirectory: "/a'b")
        #expect(settings.contains("listen_addresses = '127.0.0.1'"))
        #expect(settings.contains("port = 6000"))
        #expect(settings.contains("unix_socket_directories = '/a''b'"))
        #expect(settings.contains("wal_level = minimal"))
        #expect(settings.contains("max_wal_senders = 0"))
        #expect(settings.contains("fsync = on"))
        let on24GiB = ClusterController.managedSettings(port: 6000, socketDirectory: "/s", physicalMemory: 24 << 30)
        #expect(on24GiB.contains("shared_buffers = 6144MB"))
    }

    @Test func sharedBuffersAreAQuarterOfMemoryWithinBounds() {
        #expect(ClusterController.sharedBuffersMB(physicalMemory: 256 << 20) == 128)
        #expect(ClusterController.sharedBuffersMB(physicalMemory: 2 << 30) == 512)
        #expect(ClusterController.sharedBuffersMB(physicalMemory: 24 << 30) == 6_144)
        #expect(ClusterController.sharedBuffersMB(physicalMemory: 256 << 30) == 8_192)
    }

    @Test func longClusterPathsPutTheSocketInTmp() {
        #expect(ClusterController.socketDirectory(for: "/var/lib/settle/postgres", port: 55432) == "/var/lib/settle/postgres")
        let long = "/" + String(repeating: "d", count: 120)
        let socket = ClusterController.socketDirectory(for: long, port: 55432)
        #expect(socket.hasPrefix("/tmp/settle-pg-"))
        #expect(socket == ClusterController.socketDirectory(for: long, port: 55432))
    }

    @Test func passwordsAreRandomAndURLSafe() {
        let first = ClusterController.generatePassword()
        #expect(first.count == 32)
        let unexpected = first.filter { !$0.isASCII || !($0.isLetter || $0.isNumber) }
        #expect(unexpected.isEmpty, "\(unexpected)")
        #expect(first != ClusterController.generatePassword())
    }

    @Test func errorCodesAreStableSnakeCase() {
        #expect(LocalPostgresError.Code.binariesNotFound.description == "binaries_not_found")
        #expect(LocalPostgresError.Code.initdbFailed.description == "initdb_failed")
        #expect(LocalPostgresError.Code.startFailed.description == "start_failed")
        #expect(LocalPostgresError.Code.stopFailed.description == "stop_failed")
        #expect(LocalPostgresError.Code.commandFailed.description == "command_failed")
        #expect(LocalPostgresError.Code.permissionDenied.description == "permission_denied")
        #expect(LocalPostgresError.Code.portInUse.description == "port_in_use")
        let error = LocalPostgresError(code: .portInUse, message: "port 1 is taken")
        #expect(error.description == "port_in_use: port 1 is taken")
    }

    @Test func missingBinariesAreReported() {
        #expect {
            _ = try PostgresBinaries.locate(clusterMajorVersion: nil, environment: ["SETTLE_PG_BINDIR": "/nonexistent"])
        } throws: { error in
            (error as? LocalPostgresError)?.code == .binariesNotFound
        }
    }

    @Test func installedBinariesAreFound() throws {
        let binaries = try PostgresBinaries.locate(clusterMajorVersion: nil)
        #expect(FileManager.default.isExecutableFile(atPath: binaries.initdb))
        #expect(FileManager.default.isExecutableFile(atPath: binaries.pgCtl))
        #expect(FileManager.default.isExecutableFile(atPath: binaries.psql))
    }

    @Test func invalidDatabaseNamesAreRejectedBeforeTouchingAnything() async throws {
        let postgres = LocalPostgres(configuration: .init(dataDirectory: "/nonexistent/settle-never-created", port: 1))
        for name in ["", "a b", "x\"; DROP DATABASE settle; --", String(repeating: "a", count: 64), "é"] {
            await #expect(throws: LocalPostgresError.self) { _ = try await postgres.createDatabase(named: name) }
        }
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/settle-never-created"))
    }

    @Test func statusOfAMissingClusterIsEmpty() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let postgres = LocalPostgres(configuration: .init(dataDirectory: directory.path + "/postgres", port: 1))
        let status = try await postgres.status()
        #expect(
            status
                == LocalPostgres.Status(
                    initialized: false, running: false, url: nil, dataDirectory: directory.path + "/postgres", pid: nil))
        try await postgres.stop()
    }

    // MARK: Real clusters

    @Test(.timeLimit(.minutes(5)))
    func lifecycle() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let port = try freePort()
        var environment = ProcessInfo.processInfo.environment
        environment["SETTLE_HOME"] = directory.path
        environment["SETTLE_PG_PORT"] = String(port)
        let configuration = LocalPostgres.Configuration.default(environment: environment)
        #expect(configuration.dataDirectory == directory.path + "/postgres")
        #expect(configuration.port == port)
        let postgres = LocalPostgres(configuration: configuration)

        do {
            let url = try await postgres.start()
            #expect(url.hasPrefix("postgres://settle:"))
            #expect(url.hasSuffix("@127.0.0.1:\(port)/settle"))
            let again = try await postgres.start()
            #expect(again == url)

            let status = try await postgres.status()
            #expect(status.initialized)
            #expect(status.running)
            #expect(status.url == url)
            #expect(status.dataDirectory == configuration.dataDirectory)
            #expect((status.pid ?? 0) > 0)

            // The password file is private.
            let passwordInfo = try #require(FileSystem.info(configuration.dataDirectory + "/password"))
            #expect(passwordInfo.permissions == 0o600)
            #expect(FileSystem.info(configuration.dataDirectory)?.permissions == 0o700)

            let testURL = try await postgres.createDatabase(named: "settle_test-1")
            #expect(testURL.hasSuffix("@127.0.0.1:\(port)/settle_test-1"))
            #expect(try await postgres.createDatabase(named: "settle_test-1") == testURL)

            #expect(try await psql(url, "select 1") == "1")
            #expect(try await psql(testURL, "select current_database()") == "settle_test-1")
            #expect(try await psql(url, "show wal_level") == "minimal")
            #expect(try await psql(url, "show listen_addresses") == "127.0.0.1")
            #expect(try await psql(url, "show server_encoding") == "UTF8")
            #expect(try await psql(url, "select rolsuper::text from pg_roles where rolname = current_user") == "true")
            // A wrong password is refused (SCRAM over TCP).
            let wrong = url.replacingOccurrences(of: "settle:", with: "settle:x")
            await #expect(throws: (any Error).self) { try await psql(wrong, "select 1") }

            try await postgres.stop()
            let stopped = try await postgres.status()
            #expect(stopped.initialized)
            #expect(!stopped.running)
            #expect(stopped.url == nil)
            #expect(stopped.pid == nil)
            try await postgres.stop()  // stopping a stopped cluster is fine

            // Restart keeps the data and the password.
            #expect(try await postgres.start() == url)
            #expect(try await psql(testURL, "select 1") == "1")
            try await postgres.stop()
        } catch {
            try? await postgres.stop()
            throw error
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func concurrentStartsShareOneCluster() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LocalPostgres.Configuration(dataDirectory: directory.path + "/postgres", port: try freePort())
        let postgres = LocalPostgres(configuration: configuration)
        do {
            let urls = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        // Separate values, as separate processes would have.
                        let manager = LocalPostgres(configuration: configuration)
                        return index.isMultiple(of: 2)
                            ? try await manager.start()
                            : try await manager.createDatabase(named: "parallel").replacingOccurrences(
                                of: "/parallel", with: "/settle")
                    }
                }
                var urls: Set<String> = []
                for try await url in group { urls.insert(url) }
                return urls
            }
            #expect(urls.count == 1)
            #expect(
                try await psql(try #require(urls.first), "select count(*) from pg_database where datname in ('settle', 'parallel')") == "2")
            try await postgres.stop()
        } catch {
            try? await postgres.stop()
            throw error
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func portTakenByAnotherProgramIsReported() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let listener = try LoopbackListener()
        defer { listener.close() }
        let postgres = LocalPostgres(
            configuration: .init(dataDirectory: directory.path + "/postgres", port: listener.port))
        do {
            _ = try await postgres.start()
            Issue.record("start() succeeded although port \(listener.port) is taken")
            try await postgres.stop()
        } catch {
            #expect(error.code == .portInUse)
            #expect(error.message.contains("SETTLE_PG_PORT"))
        }
        #expect(try await postgres.status().running == false)
    }
}

// MARK: - Helpers

/// A fresh directory under the system's temporary directory (short, so the socket path fits).
private struct TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/settle-lpg-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

private struct PsqlError: Error, CustomStringConvertible {
    var description: String
}

/// Runs `psql URL -Atc SQL` and returns its trimmed output.
/// `psql -c sql` against `url`, off the cooperative pool (it waits for a child process).
private func psql(_ url: String, _ sql: String) async throws -> String {
    try await offPool { try psqlBlocking(url, sql) }
}

private func psqlBlocking(_ url: String, _ sql: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["psql", "-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
    environment["PGCONNECT_TIMEOUT"] = "10"
    process.environment = environment
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw PsqlError(description: "psql exited with \(process.terminationStatus): " + String(decoding: errorData, as: UTF8.self))
    }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
