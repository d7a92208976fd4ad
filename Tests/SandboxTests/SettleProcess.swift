import Foundation
import SettleTesting
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The `settle` binary run as a user runs it, with what it prints kept for the test to wait on.
///
/// Waiting is always for something the process says (its first line, a log line, its exit), never
/// for a length of time: a phase is reached when its log line is there.
final class SettleProcess: Sendable {
    private let process: Process
    private let output = Mutex<Output>(Output())

    private struct Output {
        var stdout = ""
        var stderr = ""
        /// Pipes read to their end: at 2 nothing more will come.
        var closed = 0
    }

    /// The `settle` binary that `swift build` made next to this test bundle.
    static var binary: String? {
        let bundleDirectory = Bundle.main.bundleURL.deletingLastPathComponent()
        let candidates = [
            bundleDirectory.appendingPathComponent("settle").path,
            InteropPython.repositoryRoot.appendingPathComponent(".build/debug/settle").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init(_ binary: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        self.process = process
        try process.run()
        for (pipe, isStdout) in [(stdout, true), (stderr, false)] {
            Thread { [self] in
                let handle = pipe.fileHandleForReading
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty {
                        output.withLock { $0.closed += 1 }
                        return
                    }
                    let text = String(decoding: chunk, as: UTF8.self)
                    output.withLock { if isStdout { $0.stdout += text } else { $0.stderr += text } }
                }
            }.start()
        }
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { output.withLock { $0.stdout } }
    var stderr: String { output.withLock { $0.stderr } }

    /// The first line on standard output, once it is complete; nil if the process exits first.
    func firstLine() async throws -> String? {
        try await until { output in output.stdout.firstIndex(of: "\n").map { String(output.stdout[..<$0]) } }
    }

    /// Waits until standard error holds `text`; false if the process exits first.
    func waitForLog(_ text: String) async throws -> Bool {
        try await until { $0.stderr.contains(text) ? true : nil } ?? false
    }

    func signal(_ number: Int32) {
        _ = Glibc.kill(process.processIdentifier, number)
    }

    /// Waits for the exit and for the last of its output: the status for a normal exit, or
    /// `128 + signal` (as a shell reports it) for a process the signal's default action ended.
    func exitStatus() async throws -> Int32 {
        let process = self.process
        let status = try await offPool {
            process.waitUntilExit()
            return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        }
        _ = try await until { _ in nil as Bool? }
        return status
    }

    /// Stops the process for good (a test that failed half-way must not leave it running).
    func stop() {
        if process.isRunning { signal(SIGKILL) }
    }

    private func until<T>(_ found: (Output) -> T?) async throws -> T? {
        while true {
            let (value, complete) = output.withLock { (found($0), $0.closed == 2) }
            if value != nil || complete { return value }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
