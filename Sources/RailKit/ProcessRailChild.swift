import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One running child process of a ``ProcessRail``: its pipes, the thread that reads them, and the
/// means to stop it.
///
/// It is spawned with `posix_spawnp`, not Foundation's `Process` (which, on Linux, learns that a
/// child exited through a descriptor it hands to the child, see `LocalPostgres/ProcessRunner`):
/// the child gets exactly three descriptors (its end of each pipe) and every other descriptor is
/// closed, so it never holds a pipe of another child open. It runs in its own process group, so
/// stopping it also stops what it started (a shell wrapper's program).
final class ProcessRailChild: Sendable {
    let pid: pid_t
    /// Settle's (non-blocking) end of the child's standard input; -1 once closed.
    private let stdinDescriptor: Mutex<Int32>
    private let lines: LineMailbox
    private let reader: ReaderThread
    private let status = Mutex<Int32?>(nil)
    let logger: Logger

    private init(pid: pid_t, stdin: Int32, lines: LineMailbox, reader: ReaderThread, logger: Logger) {
        self.pid = pid
        self.stdinDescriptor = Mutex(stdin)
        self.lines = lines
        self.reader = reader
        self.logger = logger
    }

    /// A child nobody stopped (its rail was dropped without ``ProcessRail/shutdown()``) is killed
    /// with its group and reaped: a rail never outlives its supervisor, nor lingers as a zombie.
    deinit {
        closeInput()
        reader.stop()
        if status.withLock({ $0 == nil }) {
            _ = kill(-pid, SIGKILL)
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        }
    }

    /// Starts `command` (its first element is looked up in `PATH`) with the current environment
    /// plus `environment`.
    static func spawn(command: [String], environment: [String: String], maxLineBytes: Int, logger: Logger) throws(RailError)
        -> ProcessRailChild
    {
        precondition(!command.isEmpty)
        ignoreSIGPIPE
        func failure(_ what: String, _ code: Int32) -> RailError {
            RailError(.crashed, "cannot start \(command.joined(separator: " ")): \(what): \(String(cString: strerror(code)))")
        }
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        guard makePipe(&input) else { throw failure("pipe", errno) }
        guard makePipe(&output) else {
            closeAll(input)
            throw failure("pipe", errno)
        }
        guard makePipe(&errors) else {
            closeAll(input + output)
            throw failure("pipe", errno)
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
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        closeInheritedDescriptors(&actions)

        // Default signal handling and no blocked signals in the child, whatever this process set
        // (ignored signals survive exec: the child would not see SIGPIPE).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setpgroup(&attributes, 0)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETPGROUP)
        #if canImport(Darwin)
            flags |= Int32(POSIX_SPAWN_CLOEXEC_DEFAULT)
        #endif
        posix_spawnattr_setflags(&attributes, Int16(truncatingIfNeeded: flags))

        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let result = posix_spawnp(&pid, command[0], &actions, &attributes, argv, envp)
        closeAll([input[0], output[1], errors[1]])
        guard result == 0 else {
            closeAll([input[1], output[0], errors[0]])
            throw failure("spawn", result)
        }
        _ = fcntl(input[1], F_SETFL, fcntl(input[1], F_GETFL) | O_NONBLOCK)

        var childLogger = logger
        childLogger[metadataKey: "rail_pid"] = "\(pid)"
        let lines = LineMailbox()
        let reader = ReaderThread(output: output[0], errors: errors[0], maxLineBytes: maxLineBytes, lines: lines, logger: childLogger)
        reader.start()
        return ProcessRailChild(pid: pid, stdin: input[1], lines: lines, reader: reader, logger: childLogger)
    }

    /// Writes `bytes` to the child's standard input by `deadline`.
    /// - Throws: ``RailError/Code/timeout`` when the child does not read them in time,
    ///   ``RailError/Code/crashed`` when its input is closed (it exited).
    func send(_ bytes: [UInt8], until deadline: ContinuousClock.Instant) async throws(RailError) {
        var offset = 0
        while offset < bytes.count {
            let written = stdinDescriptor.withLock { descriptor -> Int in
                guard descriptor >= 0 else {
                    errno = EBADF
                    return -1
                }
                return bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            }
            if written > 0 {
                offset += written
                continue
            }
            let error = errno
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK {
                if ContinuousClock.now >= deadline { throw RailError(.timeout, "the rail does not read its input") }
                try? await Task.sleep(for: .milliseconds(2))
                continue
            }
            throw RailError(.crashed, "cannot write to the rail: \(String(cString: strerror(error)))")
        }
    }

    /// The next line the child wrote, or why there is none by `deadline`.
    func nextLine(until deadline: ContinuousClock.Instant) async -> LineMailbox.Event {
        await lines.next(until: deadline)
    }

    /// Closes the child's standard input: a rail exits when it reads end of file.
    func closeInput() {
        stdinDescriptor.withLock { descriptor in
            if descriptor >= 0 { _ = close(descriptor) }
            descriptor = -1
        }
    }

    /// Whether the child has exited. It is not reaped here: until ``stop(grace:)`` reaps it, its
    /// process id and group id stay reserved, so signalling its group can't hit another process.
    func hasExited() -> Bool {
        if status.withLock({ $0 != nil }) { return true }
        var info = siginfo_t()
        let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        if result < 0 { return errno == ECHILD }  // reaped by someone else (SIGCHLD ignored)
        #if canImport(Darwin)
            return info.si_pid == pid
        #else
            return info._sifields._sigchld.si_pid == pid
        #endif
    }

    /// Waits until the child exits or `deadline` passes; whether it exited.
    func waitForExit(until deadline: ContinuousClock.Instant) async -> Bool {
        while true {
            if hasExited() { return true }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Stops the child: closes its input, SIGTERM to its process group unless it already exited,
    /// SIGKILL to the group after `grace` (also to what an exited child left running), then reaps
    /// it and stops the reader. Returns its exit status (128 + signal when a signal ended it).
    @discardableResult
    func stop(grace: Duration) async -> Int32 {
        closeInput()
        defer { reader.stop() }
        if let status = status.withLock({ $0 }) { return status }
        if !hasExited() {
            _ = kill(-pid, SIGTERM)
            _ = await waitForExit(until: .now + grace)
        }
        _ = kill(-pid, SIGKILL)
        var complained = false
        let started = ContinuousClock.now
        while true {
            var raw: Int32 = 0
            let result = waitpid(pid, &raw, WNOHANG)
            if result == pid || (result < 0 && errno == ECHILD) {
                let signal = raw & 0x7f
                let code: Int32 = result < 0 ? -1 : signal == 0 ? (raw >> 8) & 0xff : 128 + signal
                status.withLock { $0 = code }
                return code
            }
            if !complained && ContinuousClock.now - started > .seconds(5) {
                logger.error("rail process does not die after SIGKILL")
                complained = true
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Explains an exit status for messages.
    static func describe(status: Int32) -> String {
        switch status {
        case -1: "exited"
        case 129...: "was killed by signal \(status - 128)"
        default: "exited with status \(status)"
        }
    }
}

/// Lines from a child's standard output, handed from the reader thread to the one waiting
/// request.
final class LineMailbox: Sendable {
    enum Event: Sendable, Equatable {
        case line([UInt8])
        /// The child closed its output (it exited or is exiting).
        case endOfFile
        /// A line longer than the limit.
        case tooLong
        case timeout
        case cancelled
    }

    private struct State {
        var queue: [Event] = []
        var head = 0
        var finished: Event?
        /// The wait in progress, and its continuation once it is suspended.
        var current: UInt64?
        var waiter: CheckedContinuation<Event, Never>?
        /// How the current wait ended before it suspended (its deadline passed, its task was
        /// cancelled).
        var early: Event?
        var nextToken: UInt64 = 0
    }

    private let state = Mutex(State())

    /// From the reader thread: a line, or the end (``Event/endOfFile`` or ``Event/tooLong``).
    func push(_ event: Event) {
        let waiter = state.withLock { state -> CheckedContinuation<Event, Never>? in
            guard state.finished == nil else { return nil }
            if case .line = event {
                if let waiter = state.waiter {
                    state.waiter = nil
                    return waiter
                }
                state.queue.append(event)
                return nil
            }
            state.finished = event
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: event)
    }

    /// The next event, ``Event/timeout`` at `deadline`, or ``Event/cancelled`` if the task is
    /// cancelled. One waiter at a time.
    func next(until deadline: ContinuousClock.Instant) async -> Event {
        let token = state.withLock { state in
            precondition(state.current == nil, "two readers of one rail's output")
            state.nextToken += 1
            state.current = state.nextToken
            state.early = nil
            return state.nextToken
        }
        defer { state.withLock { $0.current = nil } }
        let timer = Task {
            do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
            self.resolve(token, with: .timeout)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Event? in
                    if let early = state.early { return early }
                    if state.head < state.queue.count {
                        let event = state.queue[state.head]
                        state.head += 1
                        if state.head == state.queue.count {
                            state.queue.removeAll(keepingCapacity: true)
                            state.head = 0
                        }
                        return event
                    }
                    if let finished = state.finished { return finished }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            resolve(token, with: .cancelled)
        }
    }

    /// Ends the wait `token` with `event` if it is still the current one.
    private func resolve(_ token: UInt64, with event: Event) {
        let waiter = state.withLock { state -> CheckedContinuation<Event, Never>? in
            guard state.current == token else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            if state.early == nil { state.early = event }
            return nil
        }
        waiter?.resume(returning: event)
    }
}

/// The thread that reads a child's standard output (lines for the mailbox) and standard error
/// (lines for the log), polling both so that a stop request is seen within a quarter second even
/// when a grandchild keeps the pipes open. It owns and closes both descriptors.
private final class ReaderThread: Sendable {
    private let output: Int32
    private let errors: Int32
    private let maxLineBytes: Int
    private let lines: LineMailbox
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)

    init(output: Int32, errors: Int32, maxLineBytes: Int, lines: LineMailbox, logger: Logger) {
        self.output = output
        self.errors = errors
        self.maxLineBytes = maxLineBytes
        self.lines = lines
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "rail-reader"
        thread.start()
    }

    func stop() { stopping.store(true, ordering: .relaxed) }

    private func run() {
        var descriptors = [pollfd(fd: output, events: Int16(POLLIN), revents: 0), pollfd(fd: errors, events: Int16(POLLIN), revents: 0)]
        var outputBuffer: [UInt8] = []
        var errorBuffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        defer {
            _ = close(output)
            _ = close(errors)
        }
        while !stopping.load(ordering: .relaxed) && (descriptors[0].fd >= 0 || descriptors[1].fd >= 0) {
            let ready = poll(&descriptors, nfds_t(descriptors.count), 250)
            if ready < 0 && errno != EINTR { break }
            if ready <= 0 { continue }
            for index in descriptors.indices where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
                let count = chunk.withUnsafeMutableBytes { read(descriptors[index].fd, $0.baseAddress, $0.count) }
                if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if index == 0 {
                    if count <= 0 {
                        lines.push(.endOfFile)
                        descriptors[0].fd = -1
                    } else if !takeOutput(chunk[0..<count], into: &outputBuffer) {
                        lines.push(.tooLong)
                        descriptors[0].fd = -1
                    }
                } else {
                    if count <= 0 {
                        if !errorBuffer.isEmpty { log(errorBuffer) }
                        descriptors[1].fd = -1
                    } else {
                        takeErrors(chunk[0..<count], into: &errorBuffer)
                    }
                }
            }
        }
        if descriptors[0].fd >= 0 { lines.push(.endOfFile) }
    }

    /// Splits output into lines for the mailbox; false when a line grows past the limit.
    private func takeOutput(_ bytes: ArraySlice<UInt8>, into buffer: inout [UInt8]) -> Bool {
        var rest = bytes
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            buffer.append(contentsOf: rest[rest.startIndex..<newline])
            if buffer.count > maxLineBytes { return false }
            lines.push(.line(buffer))
            buffer.removeAll(keepingCapacity: true)
            rest = rest[(newline + 1)...]
        }
        buffer.append(contentsOf: rest)
        return buffer.count <= maxLineBytes
    }

    /// Splits the child's standard error into log lines (a line longer than 64 KiB is logged in
    /// pieces).
    private func takeErrors(_ bytes: ArraySlice<UInt8>, into buffer: inout [UInt8]) {
        var rest = bytes
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            buffer.append(contentsOf: rest[rest.startIndex..<newline])
            log(buffer)
            buffer.removeAll(keepingCapacity: true)
            rest = rest[(newline + 1)...]
        }
        buffer.append(contentsOf: rest)
        if buffer.count > 65536 {
            log(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    /// Logs one line of the child's standard error at the level its prefix names (`DEBUG:`,
    /// `INFO:`, `WARNING:`, `ERROR:`, `CRITICAL:`, as Python's logging writes them), else at info.
    private func log(_ line: [UInt8]) {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        guard !text.allSatisfy(\.isWhitespace) else { return }
        let levels: [(String, Logger.Level)] = [
            ("DEBUG", .debug), ("INFO", .info), ("WARNING", .warning), ("WARN", .warning), ("ERROR", .error), ("CRITICAL", .critical),
        ]
        for (prefix, level) in levels where text.hasPrefix(prefix + ":") {
            let message = text.dropFirst(prefix.count + 1).drop { $0 == " " }
            logger.log(level: level, "\(message)", metadata: ["rail_stderr": "true"])
            return
        }
        logger.info("\(text)", metadata: ["rail_stderr": "true"])
    }
}

/// Writing to a pipe whose reader died must fail with EPIPE, not kill Settle: SIGPIPE is ignored
/// once, before the first child starts (servers ignore it anyway; swift-nio does too).
private let ignoreSIGPIPE: Void = {
    _ = signal(SIGPIPE, SIG_IGN)
}()

/// A pipe whose descriptors are close-on-exec from the start (`pipe2` where the C library has it,
/// so that no program another thread spawns meanwhile inherits them).
private func makePipe(_ descriptors: inout [Int32]) -> Bool {
    #if !canImport(Darwin)
        typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
        if let symbol = dlsym(nil, "pipe2") {
            let pipe2 = unsafeBitCast(symbol, to: Pipe2.self)
            return descriptors.withUnsafeMutableBufferPointer { pipe2($0.baseAddress!, Int32(O_CLOEXEC)) } == 0
        }
    #endif
    guard pipe(&descriptors) == 0 else { return false }
    for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
    return true
}

private func closeAll(_ descriptors: [Int32]) {
    for descriptor in descriptors where descriptor >= 0 { _ = close(descriptor) }
}

/// Makes the child close every descriptor above 2: with `posix_spawn_file_actions_addclosefrom_np`
/// where the C library has it (glibc 2.34+), otherwise each open descriptor without close-on-exec.
/// On Darwin, `POSIX_SPAWN_CLOEXEC_DEFAULT` does it.
#if canImport(Darwin)
    private func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t?) {}
#else
    private func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            let addCloseFrom = unsafeBitCast(symbol, to: AddCloseFrom.self)
            if addCloseFrom(&actions, 3) == 0 { return }
        }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for descriptor in entries.compactMap({ Int32($0) }) where descriptor > 2 {
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 && flags & FD_CLOEXEC == 0 { posix_spawn_file_actions_addclose(&actions, descriptor) }
        }
    }
#endif
