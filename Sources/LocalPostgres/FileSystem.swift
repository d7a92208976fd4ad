import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin POSIX file helpers with typed errors (permission problems map to ``LocalPostgresError/Code/permissionDenied``).
enum FileSystem {
    /// What `stat(2)` says about a path (following symbolic links).
    struct Info: Sendable {
        var uid: uid_t
        var gid: gid_t
        /// The permission bits (`st_mode & 0o7777`).
        var permissions: mode_t
        var isDirectory: Bool
        var isRegularFile: Bool
        /// The size in bytes.
        var size: UInt64
    }

    static func info(_ path: String) -> Info? {
        var buffer = stat()
        guard stat(path, &buffer) == 0 else { return nil }
        let type = buffer.st_mode & S_IFMT
        return Info(
            uid: buffer.st_uid,
            gid: buffer.st_gid,
            permissions: buffer.st_mode & 0o7777,
            isDirectory: type == S_IFDIR,
            isRegularFile: type == S_IFREG,
            size: UInt64(max(0, buffer.st_size))
        )
    }

    static func exists(_ path: String) -> Bool {
        info(path) != nil
    }

    static func isExecutableFile(_ path: String) -> Bool {
        guard let info = info(path), info.isRegularFile else { return false }
        return access(path, X_OK) == 0
    }

    /// The first executable called `name` in `directories`, then in `$PATH`.
    static func findExecutable(_ name: String, preferring directories: [String] = []) -> String? {
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let candidates = directories + searchPath.split(separator: ":").map(String.init)
        for directory in candidates where !directory.isEmpty {
            let candidate = joinPath(directory, name)
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    /// The path with every symbolic link resolved, or `nil` when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Creates `path` and any missing ancestors (like `mkdir -p`), giving each created directory
    /// exactly `permissions` (regardless of the umask).
    /// - Returns: The directories that were created, outermost first.
    @discardableResult
    static func createDirectories(_ path: String, permissions: mode_t) throws(LocalPostgresError) -> [String] {
        var created: [String] = []
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if let existing = info(prefix) {
                guard existing.isDirectory else {
                    throw LocalPostgresError(
                        code: .commandFailed,
                        message: "cannot create directory \(path): \(prefix) exists and is not a directory"
                    )
                }
                continue
            }
            if mkdir(prefix, permissions) != 0 && errno != EEXIST {
                throw posixError(errno, "cannot create directory \(prefix)")
            }
            try setPermissions(prefix, permissions)
            created.append(prefix)
        }
        return created
    }

    static func setPermissions(_ path: String, _ permissions: mode_t) throws(LocalPostgresError) {
        if chmod(path, permissions) != 0 {
            throw posixError(errno, "cannot change the permissions of \(path) to \(String(permissions, radix: 8))")
        }
    }

    static func setOwner(_ path: String, to user: ClusterUser) throws(LocalPostgresError) {
        if chown(path, user.uid, user.gid) != 0 {
            throw posixError(errno, "cannot change the owner of \(path) to \(user.name)")
        }
    }

    /// The UTF-8 contents of a file, or `nil` when it does not exist.
    static func readText(_ path: String) throws(LocalPostgresError) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw posixError(errno, "cannot read \(path)")
        }
        defer { close(descriptor) }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw posixError(errno, "cannot read \(path)")
            }
            if count == 0 { break }
            data.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The last `lines` lines of a (log) file written after byte `offset`, reading at most its last
    /// 64 KiB; empty when unreadable.
    static func tail(_ path: String, lines: Int = 20, after offset: UInt64 = 0) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return "" }
        let start = max(offset <= size ? offset : 0, size > 65536 ? size - 65536 : 0)
        guard (try? handle.seek(toOffset: start)) != nil, let data = try? handle.readToEnd() else { return "" }
        return lastLines(of: String(decoding: data, as: UTF8.self), count: lines)
    }

    /// Writes `contents` to a temporary file next to `path`, flushes it to disk, sets its mode and
    /// owner, then renames it over `path`, so readers only ever see the old or the new contents.
    static func writeAtomically(
        _ path: String,
        contents: String,
        permissions: mode_t,
        owner: ClusterUser?
    ) throws(LocalPostgresError) {
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        if descriptor < 0 {
            throw posixError(errno, "cannot create \(temporary)")
        }
        var failure: LocalPostgresError?
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count && failure == nil {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                failure = posixError(errno, "cannot write \(temporary)")
            } else {
                written += count
            }
        }
        if failure == nil && fsync(descriptor) != 0 {
            failure = posixError(errno, "cannot flush \(temporary)")
        }
        if failure == nil && fchmod(descriptor, permissions) != 0 {
            failure = posixError(errno, "cannot change the permissions of \(temporary)")
        }
        if failure == nil, let owner, fchown(descriptor, owner.uid, owner.gid) != 0 {
            failure = posixError(errno, "cannot change the owner of \(temporary) to \(owner.name)")
        }
        close(descriptor)
        if failure == nil && rename(temporary, path) != 0 {
            failure = posixError(errno, "cannot rename \(temporary) to \(path)")
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
        syncDirectory(containing: path)
    }

    static func move(_ source: String, to destination: String) throws(LocalPostgresError) {
        if rename(source, destination) != 0 {
            throw posixError(errno, "cannot rename \(source) to \(destination)")
        }
        syncDirectory(containing: destination)
    }

    /// Removes a file or a directory tree; a missing path is not an error.
    static func remove(_ path: String) throws(LocalPostgresError) {
        guard exists(path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil else {
            return
        }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw LocalPostgresError(code: .commandFailed, message: "cannot remove \(path): \(error)")
        }
    }

    /// Flushes a directory entry change (a rename) to disk; best effort.
    static func syncDirectory(containing path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    /// An error for a failed system call: ``LocalPostgresError/Code/permissionDenied`` for
    /// `EACCES`/`EPERM`/`EROFS`, ``LocalPostgresError/Code/commandFailed`` otherwise.
    static func posixError(_ number: Int32, _ action: String) -> LocalPostgresError {
        let reason = String(cString: strerror(number))
        let code: LocalPostgresError.Code =
            (number == EACCES || number == EPERM || number == EROFS) ? .permissionDenied : .commandFailed
        return LocalPostgresError(code: code, message: "\(action): \(reason)")
    }
}
