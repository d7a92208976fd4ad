import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive advisory lock (`flock(2)`) on a file, held across processes and threads.
///
/// Each acquisition opens its own descriptor, so two threads of one process exclude each other as
/// well as two processes do. The descriptor is close-on-exec so that no child process (in particular
/// the postmaster started by `pg_ctl`) can inherit the lock and keep it after we return.
enum FileLock {
    /// Runs `body` while holding an exclusive lock on the file at `path` (created if missing),
    /// waiting for other holders first.
    static func withExclusiveLock<Value>(
        at path: String,
        logger: Logger,
        _ body: () throws(LocalPostgresError) -> Value
    ) throws(LocalPostgresError) -> Value {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor < 0 {
            throw FileSystem.posixError(errno, "cannot open the lock file \(path)")
        }
        defer { close(descriptor) }

        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw FileSystem.posixError(errno, "cannot lock \(path)")
            }
            logger.notice("waiting for the cluster lock held by another process or task", metadata: ["lock": "\(path)"])
            while flock(descriptor, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    throw FileSystem.posixError(errno, "cannot lock \(path)")
                }
            }
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }
}
