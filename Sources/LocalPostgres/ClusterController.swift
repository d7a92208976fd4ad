import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The blocking implementation behind ``LocalPostgres``.
///
/// Every method blocks the calling thread (subprocesses, `flock`), so it is only ever called on the
/// dedicated thread that ``LocalPostgres`` starts for each operation.
///
/// Layout of the cluster directory:
/// - `data/`: PostgreSQL's data directory (`PGDATA`), created by `initdb` in `data.initdb/` and
///   renamed into place only once `initdb` succeeded, so a crash never leaves a half-made cluster;
/// - `password`: the password of the superuser role `settle` (mode 0600);
/// - `postgres.log`: the server log (`pg_ctl -l`);
/// - `settle.lock`: the `flock` lock serialising `initdb`, start, stop and database creation;
/// - `.s.PGSQL.<port>`: the server's Unix-domain socket.
struct ClusterController: Sendable {
    /// The cluster's superuser role, which Settle connects as.
    static let role = "settle"
    /// The database created for Settle itself.
    static let defaultDatabase = "settle"
    static let managedBlockStart = "# BEGIN settle managed settings (rewritten on every start; edit outside this block)"
    static let managedBlockEnd = "# END settle managed settings"
    /// How long `pg_ctl` may wait for the server to start or stop.
    static let serverWaitSeconds = 120

    let configuration: LocalPostgres.Configuration
    let logger: Logger
    /// The absolute cluster directory.
    let clusterDirectory: String

    init(configuration: LocalPostgres.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.clusterDirectory = absolutePath(configuration.dataDirectory)
    }

    var dataDirectory: String { joinPath(clusterDirectory, "data") }
    var stagingDirectory: String { joinPath(clusterDirectory, "data.initdb") }
    var passwordFile: String { joinPath(clusterDirectory, "password") }
    var logFile: String { joinPath(clusterDirectory, "postgres.log") }
    var lockFile: String { joinPath(clusterDirectory, "settle.lock") }
    var isInitialized: Bool { FileSystem.exists(joinPath(dataDirectory, "PG_VERSION")) }
    var socketDirectory: String { Self.socketDirectory(for: clusterDirectory, port: configuration.port) }

    // MARK: Operations

    func start() throws(LocalPostgresError) -> String {
        try ensureRunning(database: Self.defaultDatabase)
    }

    func createDatabase(named name: String) throws(LocalPostgresError) -> String {
        try Self.validateDatabaseName(name)
        return try ensureRunning(database: name)
    }

    func stop() throws(LocalPostgresError) {
        guard isInitialized else {
            logger.debug("no cluster to stop", metadata: ["directory": "\(clusterDirectory)"])
            return
        }
        let account = try ClusterAccount.resolve(
            clusterDirectory: clusterDirectory,
            dataDirectory: dataDirectory,
            createIfMissing: false,
            logger: logger
        )
        try FileLock.withExclusiveLock(at: lockFile, logger: logger) { () throws(LocalPostgresError) in
            guard let server = try runningServer() else {
                logger.debug("PostgreSQL is not running", metadata: ["directory": "\(clusterDirectory)"])
                return
            }
            let binaries = try PostgresBinaries.locate(clusterMajorVersion: clusterMajorVersion())
            logger.info("stopping PostgreSQL", metadata: ["directory": "\(clusterDirectory)", "pid": "\(server.pid)"])
            let logOffset = FileSystem.info(logFile)?.size ?? 0
            let command = account.invocation(
                binaries.pgCtl,
                ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "\(Self.serverWaitSeconds)"]
            )
            let result = try ProcessRunner.run(
                command.executable,
                command.arguments,
                environment: ProcessRunner.cleanEnvironment(),
                timeout: .seconds(Self.serverWaitSeconds + 60),
                failureCode: .stopFailed
            )
            if result.succeeded { return }
            if try runningServer() == nil { return }
            throw LocalPostgresError(
                code: .stopFailed,
                message: result.failureDescription() + logExcerpt(after: logOffset)
            )
        }
    }

    func status() throws(LocalPostgresError) -> LocalPostgres.Status {
        if FileSystem.exists(clusterDirectory) && access(clusterDirectory, R_OK | X_OK) != 0 {
            throw FileSystem.posixError(errno, "cannot read the cluster directory \(clusterDirectory)")
        }
        let initialized = isInitialized
        guard initialized, let server = try runningServer() else {
            return LocalPostgres.Status(
                initialized: initialized,
                running: false,
                url: nil,
                dataDirectory: clusterDirectory,
                pid: nil
            )
        }
        let password = try? readPassword()
        return LocalPostgres.Status(
            initialized: true,
            running: true,
            url: password.map { url(password: $0, port: server.port ?? configuration.port, database: Self.defaultDatabase) },
            dataDirectory: clusterDirectory,
            pid: server.pid
        )
    }

    // MARK: Start

    /// Creates the cluster if needed, starts it if needed, makes sure `settle` and `database` exist,
    /// and returns the URL of `database`. Everything after creating the directory runs under the lock.
    private func ensureRunning(database: String) throws(LocalPostgresError) -> String {
        guard (1...65535).contains(configuration.port) else {
            throw LocalPostgresError(
                code: .invalidArgument,
                message: "port \(configuration.port) is not a valid TCP port (1...65535); fix SETTLE_PG_PORT"
            )
        }
        // Look for the programs first, so that nothing is created on a machine without PostgreSQL.
        let binaries = try PostgresBinaries.locate(clusterMajorVersion: clusterMajorVersion())
        try createClusterDirectory()
        return try FileLock.withExclusiveLock(at: lockFile, logger: logger) { () throws(LocalPostgresError) -> String in
            let account = try ClusterAccount.resolve(
                clusterDirectory: clusterDirectory,
                dataDirectory: dataDirectory,
                createIfMissing: true,
                logger: logger
            )
            try secureClusterDirectory(for: account)
            if !isInitialized {
                try initialize(binaries: binaries, account: account)
            }
            guard let password = try readPassword() else {
                throw LocalPostgresError(
                    code: .commandFailed,
                    message: "the cluster in \(clusterDirectory) exists but its password file \(passwordFile) is"
                        + " missing or empty; restore it, or remove \(clusterDirectory) to create a new cluster"
                        + " (this deletes its data)"
                )
            }
            try writeManagedSettings(account: account)

            let server: RunningServer
            if let running = try runningServer() {
                server = running
                if let port = running.port, port != configuration.port {
                    logger.warning(
                        "PostgreSQL is already running on another port; restart it to use the configured one",
                        metadata: ["running_port": "\(port)", "configured_port": "\(configuration.port)"]
                    )
                }
            } else {
                try startServer(binaries: binaries, account: account)
                server =
                    try runningServer()
                    ?? RunningServer(pid: 0, port: configuration.port, socketDirectory: socketDirectory)
            }

            let connection = Connection(
                binaries: binaries,
                password: password,
                port: server.port ?? configuration.port,
                socketDirectory: server.socketDirectory ?? socketDirectory
            )
            try ensureDatabase(Self.defaultDatabase, over: connection)
            if database != Self.defaultDatabase {
                try ensureDatabase(database, over: connection)
            }
            return url(password: password, port: connection.port, database: database)
        }
    }

    /// Creates the cluster directory (mode 0700) and its missing ancestors (mode 0755).
    private func createClusterDirectory() throws(LocalPostgresError) {
        if FileSystem.info(clusterDirectory)?.isDirectory == true { return }
        let parent = (clusterDirectory as NSString).deletingLastPathComponent
        let created = try FileSystem.createDirectories(parent, permissions: 0o755)
        for directory in created {
            logger.info("created directory", metadata: ["path": "\(directory)"])
        }
        try FileSystem.createDirectories(clusterDirectory, permissions: 0o700)
    }

    /// Gives the cluster directory to the account's user (mode 0700) and, when running as root, makes
    /// sure that user can traverse every ancestor directory (adding the search bit for others where
    /// it is missing).
    private func secureClusterDirectory(for account: ClusterAccount) throws(LocalPostgresError) {
        guard let user = account.user else {
            if let info = FileSystem.info(clusterDirectory), info.uid == geteuid(), info.permissions != 0o700 {
                try FileSystem.setPermissions(clusterDirectory, 0o700)
            }
            return
        }
        var ancestor = ""
        for component in (clusterDirectory as NSString).deletingLastPathComponent.split(separator: "/") {
            ancestor += "/" + component
            guard let info = FileSystem.info(ancestor) else { continue }
            if !user.canTraverse(info) {
                logger.warning(
                    "adding search permission for others so that the PostgreSQL user can reach the cluster",
                    metadata: ["directory": "\(ancestor)", "user": "\(user.name)"]
                )
                try FileSystem.setPermissions(ancestor, info.permissions | S_IXOTH)
            }
        }
        if let info = FileSystem.info(clusterDirectory) {
            if info.uid != user.uid || info.gid != user.gid {
                try FileSystem.setOwner(clusterDirectory, to: user)
            }
            if info.permissions != 0o700 {
                try FileSystem.setPermissions(clusterDirectory, 0o700)
            }
        }
        for file in [passwordFile, logFile] {
            if let info = FileSystem.info(file), info.uid != user.uid {
                try FileSystem.setOwner(file, to: user)
            }
        }
    }

    /// Runs `initdb` into a staging directory and renames it into place.
    private func initialize(binaries: PostgresBinaries, account: ClusterAccount) throws(LocalPostgresError) {
        if FileSystem.exists(dataDirectory) && rmdir(dataDirectory) != 0 {
            throw LocalPostgresError(
                code: .initdbFailed,
                message: "\(dataDirectory) exists but is not a PostgreSQL data directory (it has no PG_VERSION);"
                    + " move it away so that a new cluster can be created"
            )
        }
        logger.info("creating PostgreSQL cluster", metadata: ["directory": "\(clusterDirectory)"])
        try FileSystem.remove(stagingDirectory)
        let pendingPasswordFile = passwordFile + ".initdb"
        try FileSystem.writeAtomically(
            pendingPasswordFile,
            contents: Self.generatePassword() + "\n",
            permissions: 0o600,
            owner: account.user
        )
        let command = account.invocation(
            binaries.initdb,
            [
                "--pgdata=\(stagingDirectory)",
                "--username=\(Self.role)",
                "--pwfile=\(pendingPasswordFile)",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--data-checksums",
            ]
        )
        let result = try ProcessRunner.run(
            command.executable,
            command.arguments,
            environment: ProcessRunner.cleanEnvironment(),
            timeout: .seconds(600),
            failureCode: .initdbFailed
        )
        guard result.succeeded else {
            try? FileSystem.remove(stagingDirectory)
            try? FileSystem.remove(pendingPasswordFile)
            throw LocalPostgresError(code: .initdbFailed, message: result.failureDescription())
        }
        try FileSystem.move(pendingPasswordFile, to: passwordFile)
        try FileSystem.move(stagingDirectory, to: dataDirectory)
    }

    /// Rewrites Settle's block at the end of `postgresql.conf` when it differs from the wanted one.
    private func writeManagedSettings(account: ClusterAccount) throws(LocalPostgresError) {
        let path = joinPath(dataDirectory, "postgresql.conf")
        guard let current = try FileSystem.readText(path) else {
            throw LocalPostgresError(code: .commandFailed, message: "\(path) is missing; the cluster is damaged")
        }
        let wanted = Self.replacingManagedBlock(
            in: current,
            with: Self.managedSettings(port: configuration.port, socketDirectory: socketDirectory)
        )
        if wanted != current {
            logger.debug("writing managed settings", metadata: ["file": "\(path)"])
            try FileSystem.writeAtomically(path, contents: wanted, permissions: 0o600, owner: account.user)
        }
        if socketDirectory != clusterDirectory {
            try prepareSeparateSocketDirectory(account: account)
        }
    }

    /// Starts the server with `pg_ctl start -w`, after checking that the port is free.
    private func startServer(binaries: PostgresBinaries, account: ClusterAccount) throws(LocalPostgresError) {
        switch PortProbe.probe(port: configuration.port) {
        case .free:
            break
        case .inUse:
            throw portInUseError()
        case .unavailable(let reason):
            logger.warning("cannot check the port before starting PostgreSQL", metadata: ["reason": "\(reason)"])
        }
        logger.info(
            "starting PostgreSQL",
            metadata: ["directory": "\(clusterDirectory)", "port": "\(configuration.port)"]
        )
        let logOffset = FileSystem.info(logFile)?.size ?? 0
        let command = account.invocation(
            binaries.pgCtl,
            ["start", "-D", dataDirectory, "-l", logFile, "-w", "-t", "\(Self.serverWaitSeconds)"]
        )
        let result = try ProcessRunner.run(
            command.executable,
            command.arguments,
            environment: ProcessRunner.cleanEnvironment(),
            timeout: .seconds(Self.serverWaitSeconds + 60),
            failureCode: .startFailed
        )
        if result.succeeded { return }
        let log = FileSystem.tail(logFile, lines: 20, after: logOffset)
        if log.contains("Address already in use") {
            throw portInUseError()
        }
        throw LocalPostgresError(code: .startFailed, message: result.failureDescription() + logExcerpt(after: logOffset))
    }

    private func portInUseError() -> LocalPostgresError {
        LocalPostgresError(
            code: .portInUse,
            message: "port \(configuration.port) on 127.0.0.1 is already in use by another program (Settle's"
                + " PostgreSQL in \(clusterDirectory) is not running); set SETTLE_PG_PORT to a free port,"
                + " or stop the program using it"
        )
    }

    /// The directory used for the socket when the cluster directory's path is too long for one.
    private func prepareSeparateSocketDirectory(account: ClusterAccount) throws(LocalPostgresError) {
        let expectedOwner = account.user?.uid ?? geteuid()
        if FileSystem.info(socketDirectory) == nil {
            try FileSystem.createDirectories(socketDirectory, permissions: 0o700)
            if let user = account.user { try FileSystem.setOwner(socketDirectory, to: user) }
        }
        guard let info = FileSystem.info(socketDirectory), info.isDirectory, info.uid == expectedOwner else {
            throw LocalPostgresError(
                code: .permissionDenied,
                message: "the socket directory \(socketDirectory) is not a directory owned by uid \(expectedOwner)"
            )
        }
    }

    // MARK: Databases

    private struct Connection {
        var binaries: PostgresBinaries
        var password: String
        var port: Int
        var socketDirectory: String
    }

    /// Creates `name` from `template0` unless it exists.
    private func ensureDatabase(_ name: String, over connection: Connection) throws(LocalPostgresError) {
        let existing = try psql("SELECT 1 FROM pg_database WHERE datname = '\(name)'", over: connection, retrying: true)
        guard existing.succeeded else {
            throw LocalPostgresError(code: .commandFailed, message: existing.failureDescription())
        }
        if existing.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "1" { return }
        logger.info("creating database", metadata: ["database": "\(name)"])
        let created = try psql(
            "CREATE DATABASE \"\(name)\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
            over: connection,
            retrying: false
        )
        guard created.succeeded || created.standardError.contains("already exists") else {
            throw LocalPostgresError(code: .commandFailed, message: created.failureDescription())
        }
    }

    /// Runs one SQL command with `psql` over the Unix-domain socket, as the current OS user with the
    /// role's password. With `retrying`, connection failures are retried for up to 30 seconds (the
    /// server may still be starting when another process started it).
    private func psql(_ sql: String, over connection: Connection, retrying: Bool) throws(LocalPostgresError) -> CommandResult {
        let environment = ProcessRunner.cleanEnvironment(adding: [
            "PGHOST": connection.socketDirectory,
            "PGPORT": "\(connection.port)",
            "PGUSER": Self.role,
            "PGPASSWORD": connection.password,
            "PGDATABASE": "postgres",
            "PGCONNECT_TIMEOUT": "10",
            "PGAPPNAME": "settle-localpostgres",
        ])
        let arguments = ["-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]
        var attempt = 0
        while true {
            attempt += 1
            let result = try ProcessRunner.run(
                connection.binaries.psql,
                arguments,
                environment: environment,
                timeout: .seconds(120)
            )
            let transient = [
                "the database system is starting up", "Connection refused", "No such file or directory",
            ].contains { result.standardError.contains($0) }
            if result.succeeded || !retrying || !transient || attempt >= 30 {
                return result
            }
            usleep(1_000_000)
        }
    }

    // MARK: State

    struct RunningServer: Sendable {
        var pid: Int
        var port: Int?
        var socketDirectory: String?
    }

    /// The live server described by `postmaster.pid`, or `nil` when there is none (no file, or a
    /// stale one whose process is gone).
    func runningServer() throws(LocalPostgresError) -> RunningServer? {
        guard let text = try FileSystem.readText(joinPath(dataDirectory, "postmaster.pid")) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let pid = lines.first.flatMap({ Int($0) }), pid > 0 else { return nil }
        guard kill(pid_t(pid), 0) == 0 || errno == EPERM else { return nil }
        let port = lines.count > 3 ? Int(lines[3]) : nil
        let socket = lines.count > 4 && !lines[4].isEmpty ? lines[4] : nil
        return RunningServer(pid: pid, port: port, socketDirectory: socket)
    }

    private func clusterMajorVersion() -> String? {
        guard let text = try? FileSystem.readText(joinPath(dataDirectory, "PG_VERSION")) else { return nil }
        let version = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return version.isEmpty ? nil : version
    }

    private func readPassword() throws(LocalPostgresError) -> String? {
        guard let text = try FileSystem.readText(passwordFile) else { return nil }
        let password = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return password.isEmpty ? nil : password
    }

    private func logExcerpt(after offset: UInt64) -> String {
        let log = FileSystem.tail(logFile, lines: 20, after: offset)
        return log.isEmpty ? "" : "\nlast lines of \(logFile):\n" + log
    }

    func url(password: String, port: Int, database: String) -> String {
        "postgres://\(Self.role):\(password)@127.0.0.1:\(port)/\(database)"
    }

    // MARK: Pure helpers

    /// 32 random letters and digits (about 190 bits), safe in a URL without escaping.
    static func generatePassword() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet.randomElement(using: &generator)! })
    }

    /// Accepts 1 to 63 ASCII letters, digits, `_` and `-`, so the name needs no escaping in SQL
    /// (it is double-quoted) or in a URL.
    static func validateDatabaseName(_ name: String) throws(LocalPostgresError) {
        let allowed =
            !name.isEmpty && name.utf8.count <= 63
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
        guard allowed else {
            throw LocalPostgresError(
                code: .invalidArgument,
                message: "invalid database name \"\(name)\": use 1 to 63 ASCII letters, digits, _ or -"
            )
        }
    }

    /// The socket goes in the cluster directory unless the socket path would exceed the Unix-domain
    /// socket limit (about 104 bytes on macOS, 108 on Linux); then in `/tmp/settle-pg-<hash>`.
    static func socketDirectory(for clusterDirectory: String, port: Int) -> String {
        if joinPath(clusterDirectory, ".s.PGSQL.\(port)").utf8.count <= 100 {
            return clusterDirectory
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in clusterDirectory.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return "/tmp/settle-pg-" + String(hash, radix: 16)
    }

    /// The settings Settle manages, as `postgresql.conf` lines.
    static func managedSettings(
        port: Int, socketDirectory: String, physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory
    ) -> [String] {
        let quotedSocketDirectory = socketDirectory.replacingOccurrences(of: "'", with: "''")
        return [
            "listen_addresses = '127.0.0.1'",
            "port = \(port)",
            "unix_socket_directories = '\(quotedSocketDirectory)'",
            "max_connections = 200",
            "shared_buffers = \(sharedBuffersMB(physicalMemory: physicalMemory))MB",
            "wal_buffers = 64MB",
            "max_wal_size = 8GB",
            "min_wal_size = 1GB",
            "checkpoint_timeout = 15min",
            "synchronous_commit = on",
            "fsync = on",
            "full_page_writes = on",
            "wal_level = minimal",
            "max_wal_senders = 0",
            "max_locks_per_transaction = 256",
            "log_destination = 'stderr'",
            "logging_collector = off",
        ]
    }

    /// A quarter of the machine's memory, from 128 MB to 8 GB (PostgreSQL's own advice): with
    /// 512 MB a ledger of a few million transfers read its index pages from the OS cache on every
    /// batch (`settle bench api`, docs/benchmarks.md). The pages are only touched as they are used.
    static func sharedBuffersMB(physicalMemory: UInt64) -> UInt64 {
        min(max(physicalMemory / 4 / (1 << 20), 128), 8 << 10)
    }

    /// `configuration` without any previous managed block, followed by a blank line and the new block.
    static func replacingManagedBlock(in configuration: String, with settings: [String]) -> String {
        var kept: [Substring] = []
        var insideBlock = false
        for line in configuration.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# BEGIN settle managed settings") {
                insideBlock = true
            } else if insideBlock && line.hasPrefix(managedBlockEnd) {
                insideBlock = false
            } else if !insideBlock {
                kept.append(line)
            }
        }
        while let last = kept.last, last.allSatisfy(\.isWhitespace) {
            kept.removeLast()
        }
        let block = [managedBlockStart] + settings + [managedBlockEnd]
        return (kept.map(String.init) + [""] + block).joined(separator: "\n") + "\n"
    }
}
