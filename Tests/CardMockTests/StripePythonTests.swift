import CardMock
import Foundation
import SettleTesting
import Testing

/// The official stripe-python SDK (16.1.0) drives the mock end to end: `Interop/stripe_e2e.py`.
@Suite struct StripePythonTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/stripe_e2e.py")

    /// `$VIRTUAL_ENV/bin/python`, else the repository's `.venv`, when it can import stripe.
    static func findPython() -> String? {
        guard let candidate = InteropPython.interpreter, (try? run(candidate, ["-c", "import stripe"], timeout: 60).status) == 0 else {
            return nil
        }
        return candidate
    }

    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // Read while it runs so a full pipe cannot block it.
        let data = LockedData()
        let reader = Thread { data.set(output.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        while !data.isSet { Thread.sleep(forTimeInterval: 0.01) }
        return (process.terminationStatus, String(decoding: data.value, as: UTF8.self))
    }

    static let python: String? = findPython()
    /// Without python and stripe the test is skipped, except in CI where it fails.
    static let runs = python != nil || ProcessInfo.processInfo.environment["CI"] != nil

    @Test(.enabled(if: runs, "needs python with stripe==16.1.0 (.venv or $VIRTUAL_ENV)"))
    func stripePythonDrivesTheMock() async throws {
        guard let python = Self.python else {
            Issue.record("python with stripe==16.1.0 is required in CI: pip install -r requirements-test.txt into .venv or $VIRTUAL_ENV")
            return
        }
        let server = try await MockServer.start { $0.webhookRetryBase = .milliseconds(50) }
        let url = server.baseURL
        let result = try await offPool { try Self.run(python, [Self.script.path, url], timeout: 45) }
        try await server.stop()
        let summary = result.output.split(separator: "\n").last.map(String.init) ?? ""
        #expect(result.status == 0, "stripe_e2e.py failed:\n\(result.output)")
        #expect(summary.hasSuffix(" 0 failed"), "\(summary)")
        #expect(summary.hasPrefix("14 passed"), "\(summary)")
    }
}

/// The child's output, handed from the reader thread.
private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.withLock { data = value } }
    var isSet: Bool { lock.withLock { data != nil } }
    var value: Data { lock.withLock { data ?? Data() } }
}
