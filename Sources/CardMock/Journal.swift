import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The append-only journal of the data directory: one JSON line per committed mutation.
///
/// A mutation is appended in memory under the store's isolation, so lines keep the order in which
/// the state changed; the request then waits in ``sync(_:)`` until its line is on disk. Syncing is
/// group commit: one waiter writes and `fsync`s everything appended so far while the others wait
/// for it, so one `fsync` (about 2 ms here) covers every request that arrived meanwhile. See
/// `docs/decisions/0006-card-mock-persistence.md`.
final class Journal: Sendable {
    private struct State {
        var descriptor: Int32
        var buffer: [UInt8] = []
        var appended: UInt64 = 0
        var durable: UInt64 = 0
        var flushing = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var failure: CardMockError?
    }

    static let fileName = "journal.jsonl"
    private let state: Mutex<State>
    private let lockDescriptor: Int32

    private init(descriptor: Int32, lockDescriptor: Int32) {
        self.state = Mutex(State(descriptor: descriptor))
        self.lockDescriptor = lockDescriptor
    }

    /// A journal that keeps nothing: the mock runs in memory.
    static func inMemory() -> Journal { Journal(descriptor: -1, lockDescriptor: -1) }

    /// Returns once no other card mock holds `directory` (it may be stopping, as when a sandbox is
    /// restarted at once), checking every 50 ms; a cancelled caller stops waiting. A directory that
    /// cannot be locked for another reason is left for ``open(directory:compact:)`` to report.
    static func waitUntilFree(directory: String, logger: Logger) async throws {
        let lockPath = directory + "/lock"
        var said = false
        while true {
            let lock = openFile(lockPath, O_RDWR | O_CLOEXEC)
            guard lock >= 0 else { return }
            let free = flock(lock, LOCK_EX | LOCK_NB) == 0
            closeFile(lock)
            if free { return }
            if !said {
                logger.notice("waiting for the card mock data directory held by another card mock", metadata: ["directory": "\(directory)"])
                said = true
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Locks `directory`, reads its journal and rewrites it compacted.
    /// - Parameter compact: builds the state from the journal's records and returns the records that
    ///   recreate it; they replace the journal atomically (temporary file, `fsync`, `rename`).
    /// - Throws: ``CardMockError`` when the directory cannot be used or a line is corrupt.
    static func open(directory: String, compact: ([[JournalRecord]]) throws -> [JournalRecord]) throws -> Journal {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CardMockError(.dataDirectory, "cannot create \(directory): \(error)")
        }
        let lockPath = directory + "/lock"
        let lock = openFile(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw CardMockError(.dataDirectory, "cannot open \(lockPath): errno \(errno)") }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            closeFile(lock)
            throw CardMockError(.dataDirectoryLocked, "\(directory) is in use by another card mock")
        }
        do {
            let path = directory + "/" + fileName
            let records = try compact(try read(path))
            let temporary = path + ".tmp"
            let out = openFile(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard out >= 0 else { throw CardMockError(.dataDirectory, "cannot create \(temporary): errno \(errno)") }
            var bytes: [UInt8] = []
            // One record per line keeps each line small however large the state grows.
            for record in records { bytes += try line([record]) }
            try writeAll(out, bytes)
            guard fsync(out) == 0 else { throw CardMockError(.journalWrite, "fsync \(temporary): errno \(errno)") }
            closeFile(out)
            guard rename(temporary, path) == 0 else { throw CardMockError(.journalWrite, "rename \(temporary): errno \(errno)") }
            let dir = openFile(directory, O_RDONLY | O_CLOEXEC)
            if dir >= 0 {
                fsync(dir)
                closeFile(dir)
            }
            let descriptor = openFile(path, O_WRONLY | O_APPEND | O_CLOEXEC)
            guard descriptor >= 0 else { throw CardMockError(.dataDirectory, "cannot open \(path): errno \(errno)") }
            return Journal(descriptor: descriptor, lockDescriptor: lock)
        } catch {
            closeFile(lock)
            throw error
        }
    }

    /// The committed groups of records in `path`; a torn last line (a crash mid-write) is dropped.
    static func read(_ path: String) throws -> [[JournalRecord]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        var groups: [[JournalRecord]] = []
        let decoder = JSONDecoder()
        for (index, line) in lines.enumerated() where !line.isEmpty {
            do {
                groups.append(try decoder.decode([JournalRecord].self, from: Data(line)))
            } catch {
                // Only the last line can be torn, and only when it has no newline.
                if index == lines.count - 1 { break }
                throw CardMockError(.corruptJournal, "\(path) line \(index + 1): \(error)")
            }
        }
        return groups
    }

    static func line(_ records: [JournalRecord]) throws -> [UInt8] {
        Array(try encoder.encode(records)) + [UInt8(ascii: "\n")]
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// Appends one committed group; returns the sequence number to pass to ``sync(_:)``.
    func append(_ records: [JournalRecord]) throws -> UInt64 {
        let bytes = try Self.line(records)
        return state.withLock { state in
            guard state.descriptor >= 0 else { return 0 }
            state.buffer += bytes
            state.appended += 1
            return state.appended
        }
    }

    /// Returns once group `sequence` and every group before it is on disk.
    /// - Throws: ``CardMockError`` when a write or `fsync` failed: nothing after it is durable.
    func sync(_ sequence: UInt64) async throws {
        enum Step {
            case done
            case fail(CardMockError)
            case wait
            case flush(Int32, [UInt8], UInt64)
        }
        while true {
            let step = state.withLock { state -> Step in
                if state.durable >= sequence { return .done }
                if let failure = state.failure { return .fail(failure) }
                if state.flushing { return .wait }
                state.flushing = true
                defer { state.buffer = [] }
                return .flush(state.descriptor, state.buffer, state.appended)
            }
            switch step {
            case .done: return
            case .fail(let error): throw error
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state in
                        if !state.flushing { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            case .flush(let descriptor, let bytes, let upTo):
                var failure: CardMockError?
                do {
                    try Self.writeAll(descriptor, bytes)
                    if fsync(descriptor) != 0 { failure = CardMockError(.journalWrite, "fsync: errno \(errno)") }
                } catch {
                    failure = error as? CardMockError ?? CardMockError(.journalWrite, "\(error)")
                }
                let waiters = state.withLock { state in
                    state.flushing = false
                    if let failure { state.failure = failure } else { state.durable = upTo }
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume() }
            }
        }
    }

    /// Syncs what is appended, then releases the file and the directory lock.
    func close() async {
        let last = state.withLock { $0.appended }
        try? await sync(last)
        state.withLock { state in
            if state.descriptor >= 0 { closeFile(state.descriptor) }
            state.descriptor = -1
            state.failure = CardMockError(.journalClosed, "the journal is closed")
        }
        if lockDescriptor >= 0 {
            flock(lockDescriptor, LOCK_UN)
            closeFile(lockDescriptor)
        }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) throws {
        guard descriptor >= 0 else { throw CardMockError(.journalClosed, "the journal is closed") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { writeFile(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw CardMockError(.journalWrite, "write: errno \(errno)")
            }
            offset += written
        }
    }
}

// File-scope wrappers: inside `Journal`, `close` and `open` would name its own methods.
private func openFile(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 { open(path, flags, mode) }
private func closeFile(_ descriptor: Int32) { _ = close(descriptor) }
private func writeFile(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(descriptor, buffer, count) }

extension Journal {
    /// Whether group `sequence` is on disk.
    func isDurable(_ sequence: UInt64) -> Bool {
        state.withLock { $0.durable >= sequence || $0.descriptor < 0 && $0.failure == nil }
    }
}
