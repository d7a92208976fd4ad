import Foundation
import SettleTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension BinaryTests {
    /// Every long-running command stops on SIGTERM or SIGINT in every phase, startup included, with a
    /// clean exit; a second signal exits at once; a stop that cannot finish is cut off after the grace
    /// period. Phases are reached by waiting for the command's own log lines, never by sleeping.
    @Suite("stopping long-running commands", .timeLimit(.minutes(3)))
    struct StopTests {
        static let portArguments: [String: [String]] = [
            "serve": ["serve", "--port", "0"],
            "sandbox": [
                "sandbox", "--port", "0", "--api-port", "0", "--chain-port", "0", "--tempo-port", "0", "--cardmock-port", "0",
                "--log-level",
                "notice",
            ],
            "cardmock": ["cardmock", "--port", "0"],
            "devchain": ["devchain", "--port", "0"],
            "worker": ["worker"],
        ]

        /// What each command says once it serves.
        static func ready(_ command: String, _ process: SettleProcess) async throws -> Bool {
            switch command {
            case "serve": try await process.waitForLog("serving the ledger API")
            case "worker": try await process.waitForLog("worker started")
            default: try await process.firstLine() != nil
            }
        }

        static func start(_ command: String, environment: [String: String] = [:]) throws -> SettleProcess? {
            guard let binary = SettleProcess.binary else {
                if InteropPython.isCI { Issue.record("the settle binary is missing: run scripts/test") }
                return nil
            }
            return try SettleProcess(
                binary, portArguments[command]!, environment: ["LOG_LEVEL": "info", "SETTLE_HOME": settleHome].merging(environment) { $1 })
        }

        /// The tests' own embedded cluster (scripts/test sets `SETTLE_HOME`), so that commands started
        /// here find it running.
        static let settleHome =
            ProcessInfo.processInfo.environment["SETTLE_HOME"]
            ?? InteropPython.repositoryRoot.appendingPathComponent(".build/settle-test-home").path

        @Test(arguments: ["serve", "sandbox", "cardmock", "devchain", "worker"], [SIGTERM, SIGINT])
        func stopsCleanlyOnceServing(command: String, signal: Int32) async throws {
            guard let process = try Self.start(command) else { return }
            defer { process.stop() }
            #expect(try await Self.ready(command, process), "\(command) never became ready: \(process.stderr)")
            process.signal(signal)
            #expect(try await process.exitStatus() == 0, "\(process.stderr)")
            #expect(process.stderr.contains("msg=stopping"))
        }

        /// `serve`, `sandbox` and `worker` on the embedded database wait for its lock while another process holds
        /// it (a cluster being started or stopped): a signal then ends the wait at once.
        @Test(arguments: ["serve", "sandbox", "worker"])
        func stopsWhileWaitingForTheDatabase(command: String) async throws {
            let lockPath = Self.settleHome + "/postgres/settle.lock"
            try FileManager.default.createDirectory(atPath: Self.settleHome + "/postgres", withIntermediateDirectories: true)
            let descriptor = open(lockPath, O_RDWR | O_CREAT, 0o644)
            try #require(descriptor >= 0)
            defer { close(descriptor) }
            try #require(flock(descriptor, LOCK_EX) == 0)
            defer { flock(descriptor, LOCK_UN) }

            guard let process = try Self.start(command, environment: ["DATABASE_URL": ""]) else { return }
            defer { process.stop() }
            #expect(try await process.waitForLog("waiting for the cluster lock"), "\(process.stderr)")
            process.signal(SIGTERM)
            #expect(try await process.exitStatus() == 0, "\(process.stderr)")
            #expect(process.stdout.isEmpty, "it must not have started serving")
        }

        /// The scenario of the first-contact report: a sandbox stopped, another started at once and
        /// stopped in each phase of its startup. Each must exit cleanly.
        @Test(arguments: ["database ready", "setting up the merchant", "first line"])
        func aSandboxStartedAsAnotherStopsIsStoppedWhileStarting(phase: String) async throws {
            guard let first = try Self.start("sandbox") else { return }
            defer { first.stop() }
            #expect(try await first.firstLine() != nil, "\(first.stderr)")
            first.signal(SIGTERM)
            guard let second = try Self.start("sandbox") else { return }
            defer { second.stop() }
            if phase == "first line" {
                #expect(try await second.firstLine() != nil, "\(second.stderr)")
            } else {
                #expect(try await second.waitForLog(phase), "\(second.stderr)")
            }
            second.signal(SIGTERM)
            #expect(try await first.exitStatus() == 0, "\(first.stderr)")
            #expect(try await second.exitStatus() == 0, "\(second.stderr)")
        }

        /// A request that never finishes keeps the graceful shutdown waiting (it drains in-flight
        /// requests): the second signal exits at once, with 128 + its number.
        @Test func aSecondSignalExitsAtOnce() async throws {
            guard let process = try Self.start("devchain") else { return }
            defer { process.stop() }
            let connection = try #require(try await Self.halfSentRequest(to: process))
            defer { close(connection) }
            process.signal(SIGTERM)
            #expect(try await process.waitForLog("msg=stopping"))
            process.signal(SIGTERM)
            #expect(try await process.exitStatus() == 128 + SIGTERM, "\(process.stderr)")
            #expect(process.stderr.contains("second signal"))
        }

        /// The same stalled stop, with no second signal: cut off after `SETTLE_STOP_TIMEOUT`, status 1.
        @Test func aStopThatCannotFinishIsCutOffAfterTheGracePeriod() async throws {
            guard let process = try Self.start("devchain", environment: ["SETTLE_STOP_TIMEOUT": "1"]) else { return }
            defer { process.stop() }
            let connection = try #require(try await Self.halfSentRequest(to: process))
            defer { close(connection) }
            process.signal(SIGTERM)
            #expect(try await process.exitStatus() == 1, "\(process.stderr)")
            #expect(process.stderr.contains("did not stop within the grace period"))
        }

        /// Opens a connection to the dev chain and sends, in one write, a whole JSON-RPC request and then
        /// half of a second one; returns once the first is answered. The server read both in one go, so
        /// the second request is under way on the server when this returns, and stays so.
        static func halfSentRequest(to process: SettleProcess) async throws -> Int32? {
            guard let line = try await process.firstLine(),
                let info = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let url = (info["rpcURL"] as? String).flatMap(URL.init(string:)), let port = url.port
            else { return nil }
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { return nil }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            let whole = #"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#
            let requests =
                "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(whole.utf8.count)\r\n\r\n\(whole)"
                + "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\""
            let bytes = Array(requests.utf8)
            guard connected, send(descriptor, bytes, bytes.count, 0) == bytes.count else {
                close(descriptor)
                return nil
            }
            let answered = try await offPool {
                var received = [UInt8]()
                var buffer = [UInt8](repeating: 0, count: 4_096)
                while !String(decoding: received, as: UTF8.self).contains("\"result\"") {
                    let count = recv(descriptor, &buffer, buffer.count, 0)
                    if count <= 0 { return false }
                    received += buffer[..<count]
                }
                return true
            }
            guard answered else {
                close(descriptor)
                return nil
            }
            return descriptor
        }
    }
}
