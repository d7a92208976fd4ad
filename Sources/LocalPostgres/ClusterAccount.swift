import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Who runs the PostgreSQL programs, and how the current process switches to that user.
///
/// PostgreSQL refuses to run as root. A non-root process runs everything as itself. A root process
/// runs `initdb`, `pg_ctl` and `postgres` as an unprivileged cluster user through `runuser -u USER --`
/// (or `setpriv` when `runuser` is missing): the owner of an existing cluster, else the `postgres`
/// user that Debian's package creates, else a system user `settle` that is created on demand.
struct ClusterAccount: Sendable {
    /// The user the server programs run as, or `nil` when they run as the current (non-root) user.
    var user: ClusterUser?
    /// The program and arguments placed before a command to run it as ``user``.
    var switchPrefix: [String]

    static let currentUser = ClusterAccount(user: nil, switchPrefix: [])

    /// The name of the system user created when no `postgres` user exists.
    static let fallbackUserName = "settle"

    static var isRoot: Bool { geteuid() == 0 }

    /// The executable and arguments that run `executable arguments` as this account's user.
    func invocation(_ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        guard let first = switchPrefix.first else { return (executable, arguments) }
        return (first, Array(switchPrefix.dropFirst()) + [executable] + arguments)
    }

    /// Chooses the account for the cluster in `clusterDirectory`.
    /// - Parameter createIfMissing: Whether the `settle` system user may be created (only `start`
    ///   does; `stop`/`status` only look at an existing cluster).
    static func resolve(
        clusterDirectory: String,
        dataDirectory: String,
        createIfMissing: Bool,
        logger: Logger
    ) throws(LocalPostgresError) -> ClusterAccount {
        guard isRoot else { return .currentUser }

        var user: ClusterUser?
        // An existing cluster keeps its owner, so that a cluster created with one user is never
        // handed to another one.
        for path in [dataDirectory, clusterDirectory] {
            if user == nil, let info = FileSystem.info(path), info.uid != 0 {
                guard let owner = ClusterUser.withID(info.uid) else {
                    throw LocalPostgresError(
                        code: .permissionDenied,
                        message: "\(path) is owned by uid \(info.uid), which has no entry in the user database;"
                            + " chown it to an existing unprivileged user (for example postgres)"
                    )
                }
                user = owner
            }
        }
        if user == nil {
            user = ClusterUser.named("postgres")
        }
        if user == nil {
            user = ClusterUser.named(fallbackUserName)
        }
        if user == nil && createIfMissing {
            user = try createSystemUser(named: fallbackUserName, logger: logger)
        }
        guard let user else {
            throw LocalPostgresError(
                code: .permissionDenied,
                message: "running as root, but neither a `postgres` nor a `\(fallbackUserName)` user exists"
                    + " to run PostgreSQL (it refuses to run as root)"
            )
        }
        guard user.uid != 0 else {
            throw LocalPostgresError(
                code: .permissionDenied,
                message: "the cluster in \(clusterDirectory) would have to run as root (\(user.name)),"
                    + " which PostgreSQL refuses; chown it to an unprivileged user"
            )
        }

        if let runuser = FileSystem.findExecutable("runuser", preferring: ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
            return ClusterAccount(user: user, switchPrefix: [runuser, "-u", user.name, "--"])
        }
        if let setpriv = FileSystem.findExecutable("setpriv", preferring: ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
            return ClusterAccount(
                user: user,
                switchPrefix: [setpriv, "--reuid=\(user.uid)", "--regid=\(user.gid)", "--init-groups", "--"]
            )
        }
        throw LocalPostgresError(
            code: .permissionDenied,
            message: "running as root, but neither `runuser` nor `setpriv` (util-linux) is available to run"
                + " PostgreSQL as \(user.name); install util-linux or run settle as an unprivileged user"
        )
    }

    /// Runs `useradd --system --no-create-home --shell /usr/sbin/nologin NAME`; tolerates a concurrent
    /// creation by another process.
    private static func createSystemUser(named name: String, logger: Logger) throws(LocalPostgresError) -> ClusterUser {
        guard let useradd = FileSystem.findExecutable("useradd", preferring: ["/usr/sbin", "/sbin"]) else {
            throw LocalPostgresError(
                code: .permissionDenied,
                message: "running as root, no `postgres` user exists and `useradd` is missing,"
                    + " so no unprivileged user can be created to run PostgreSQL"
            )
        }
        let shell = FileSystem.isExecutableFile("/usr/sbin/nologin") ? "/usr/sbin/nologin" : "/bin/false"
        logger.info("creating system user to run PostgreSQL", metadata: ["user": "\(name)"])
        let result = try ProcessRunner.run(
            useradd,
            ["--system", "--no-create-home", "--shell", shell, name],
            environment: ProcessRunner.cleanEnvironment(),
            timeout: .seconds(60)
        )
        if let user = ClusterUser.named(name) {
            return user
        }
        throw LocalPostgresError(code: .commandFailed, message: result.failureDescription())
    }
}
