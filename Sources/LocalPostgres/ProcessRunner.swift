import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The outcome of one finished subprocess.
struct CommandResult: Sendable {
    /// The command as a shell-quoted line, for messages.
    var commandLine: String
    /// The exit status, or 128 + the signal number when the process was killed by a signal.
    var exitCode: Int32
    var standardOutput: String
    var standardError: String

    var succeeded: Bool { exitCode == 0 }

    /// The last lines of standard error, or of standard output when standard error is empty.
    func outputTail(lines: Int = 20) -> String {
        let stderr = standardError.trimmingCharacters(in: .whitespacesAndNewlines)
        let text = stderr.isEmpty ? standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) : stderr
        return lastLines(of: text, count: lines)
    }

    /// "`command` exited with status N:" followed by the tail of its output.
    func failureDescription(lines: Int = 20) -> String {
        let tail = outputTail(lines: lines)
        let status = "`\(commandLine)` exited with status \(exitCode)"
        return tail.isEmpty ? status + " and printed nothing" : status + ":\n" + tail
    }
}

/// Runs subprocesses synchronously and captures their output.
///
/// This blocks the calling thread, so it is only called from the dedicated thread that
/// ``LocalPostgres`` uses for each operation, never from the cooperative pool.
///
/// It uses `posix_spawn` and `waitpid` rather than Foundation's `Process`: on Linux, `Process` learns
/// that a child exited when a socket it hands to the child is closed, and `pg_ctl start` leaves the
/// postmaster daemon holding that socket, so `Process` would wait until the server stops. Here the
/// child gets only standard input (`/dev/null`), output and error (anonymous temporary files, so a
/// full pipe can never block anyone) and every other descriptor is closed, so the long-lived
/// postmaster inherits nothing from the calling process.
enum ProcessRunner {
    /// Runs `executable` with `arguments` and waits for it to exit.
    ///
    /// A non-zero exit status is not an error here; callers inspect ``CommandResult/exitCode``.
    /// - Throws: `failureCode` when the process cannot be launched or does not exit within `timeout`
    ///   (it is then terminated).
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        timeout: Duration = .seconds(300),
        failureCode: LocalPostgresError.Code = .commandFailed
    ) throws(LocalPostgresError) -> CommandResult {
        let commandLine = shellQuoted([executable] + arguments)
        func failure(_ reason: String) -> LocalPostgresError {
            LocalPostgresError(code: failureCode, message: "cannot run `\(commandLine)`: \(reason)")
        }

        guard let output = AnonymousFile(), let errors = AnonymousFile() else {
            throw failure("cannot create a temporary file: " + String(cString: strerror(errno)))
        }
        defer {
            output.close()
            errors.close()
        }

        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        var attributes: posix_spawnattr_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output.descriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, errors.descriptor, 2)
        closeInheritedDescriptors(&actions, &attributes)

        // Children start with default signal handling and nothing blocked, whatever this process set
        // (the Swift runtime ignores SIGPIPE, for example, and ignored signals survive exec).
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaultSignals, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var flags: Int32 = 0
        flags |= Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)
        #if canImport(Darwin)
        flags |= Int32(POSIX_SPAWN_CLOEXEC_DEFAULT)
        #endif
        posix_spawnattr_setflags(&attributes, Int16(truncatingIfNeeded: flags))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] =
            environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }

        var pid = pid_t()
        let spawnResult = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        if spawnResult != 0 {
            throw failure(String(cString: strerror(spawnResult)))
        }

        let status: Int32
        switch wait(for: pid, timeout: timeout) {
        case .exited(let exitStatus):
            status = exitStatus
        case .timedOut:
            throw LocalPostgresError(
                code: failureCode,
                message: "`\(commandLine)` did not finish within \(timeout) and was killed"
                    + { $0.isEmpty ? "" : ":\n" + $0 }(lastLines(of: errors.contents(), count: 20))
            )
        case .failed(let number):
            throw failure("waitpid: " + String(cString: strerror(number)))
        }

        return CommandResult(
            commandLine: commandLine,
            exitCode: status,
            standardOutput: output.contents(),
            standardError: errors.contents()
        )
    }

    /// The environment for PostgreSQL programs: the current one without any `PG*` variable (so a
    /// stray `PGDATA`, `PGPORT`, `PGHOST`, … cannot redirect them) and with `LC_ALL=C` so messages
    /// are in English, plus `extra`.
    static func cleanEnvironment(adding extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["LC_ALL"] = "C"
        environment.merge(extra) { _, new in new }
        return environment
    }

    private enum WaitOutcome {
        /// The exit status, or 128 + signal.
        case exited(Int32)
        case timedOut
        case failed(Int32)
    }

    /// Polls `waitpid` until the child exits or `timeout` passes; then sends SIGTERM, and SIGKILL
    /// five seconds later, and reaps it.
    private static func wait(for pid: pid_t, timeout: Duration) -> WaitOutcome {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var pause: UInt32 = 2_000
        var rawStatus: Int32 = 0
        while true {
            let result = waitpid(pid, &rawStatus, WNOHANG)
            if result == pid { return .exited(decode(rawStatus)) }
            if result < 0 {
                if errno == EINTR { continue }
                return .failed(errno)
            }
            if clock.now >= deadline { break }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
        kill(pid, SIGTERM)
        let graceEnd = clock.now.advanced(by: .seconds(5))
        while clock.now < graceEnd {
            if waitpid(pid, &rawStatus, WNOHANG) == pid { return .timedOut }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        while waitpid(pid, &rawStatus, 0) < 0 && errno == EINTR {}
        return .timedOut
    }

    /// `WEXITSTATUS`, or 128 + `WTERMSIG` for a signalled process (the C macros are not imported).
    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Makes the child close every descriptor above 2: with `posix_spawn_file_actions_addclosefrom_np`
    /// where the C library has it (glibc 2.34+), otherwise by closing each open descriptor that lacks
    /// close-on-exec. On Darwin, `POSIX_SPAWN_CLOEXEC_DEFAULT` does it.
    #if canImport(Darwin)
    private static func closeInheritedDescriptors(
        _ actions: inout posix_spawn_file_actions_t?,
        _ attributes: inout posix_spawnattr_t?
    ) {}
    #else
    private static func closeInheritedDescriptors(
        _ actions: inout posix_spawn_file_actions_t,
        _ attributes: inout posix_spawnattr_t
    ) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            let addCloseFrom = unsafeBitCast(symbol, to: AddCloseFrom.self)
            if addCloseFrom(&actions, 3) == 0 { return }
        }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for descriptor in entries.compactMap({ Int32($0) }) where descriptor > 2 {
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 && flags & FD_CLOEXEC == 0 {
                posix_spawn_file_actions_addclose(&actions, descriptor)
            }
        }
    }
    #endif
}

/// A temporary file that is unlinked as soon as it is created: only its (close-on-exec) descriptor
/// exists, so nothing is left behind even if the process dies.
private struct AnonymousFile {
    let descriptor: Int32

    init?() {
        let directory = FileManager.default.temporaryDirectory.path
        var template = Array(joinPath(directory, "settle-localpg-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { return nil }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.descriptor = descriptor
    }

    /// Everything written to the file, decoded as UTF-8.
    func contents() -> String {
        guard lseek(descriptor, 0, SEEK_SET) == 0 else { return "" }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            data.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: data, as: UTF8.self)
    }

    func close() {
        #if canImport(Glibc)
        _ = Glibc.close(descriptor)
        #elseif canImport(Musl)
        _ = Musl.close(descriptor)
        #elseif canImport(Darwin)
        _ = Darwin.close(descriptor)
        #endif
    }
}

/// The last `count` non-blank lines of `text`.
func lastLines(of text: String, count: Int) -> String {
    let lines = text.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
    return lines.suffix(count).joined(separator: "\n")
}

/// Quotes arguments the way a POSIX shell would need them, for messages only.
func shellQuoted(_ arguments: [String]) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@%+")
    return arguments.map { argument in
        if !argument.isEmpty && argument.allSatisfy({ safe.contains($0) }) { return argument }
        return "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
}
