import Foundation

/// The Python that the interop tests drive Settle with (the official `x402`, `stripe` and
/// `eth-account` clients, the Python rail), as `scripts/test` sets it up: `$VIRTUAL_ENV/bin/python`,
/// else the repository's `.venv/bin/python`. Suites that need it skip without it, except on CI
/// (`CI` set), where a missing interpreter must fail rather than pass by not running.
public enum InteropPython {
    /// The repository's root directory.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Whether this run is CI's.
    public static let isCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false

    /// The interpreter's path, or nil when there is none.
    public static let interpreter: String? = {
        var candidates: [String] = []
        if let venv = ProcessInfo.processInfo.environment["VIRTUAL_ENV"], !venv.isEmpty { candidates.append(venv + "/bin/python") }
        candidates.append(repositoryRoot.appendingPathComponent(".venv/bin/python").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()
}
