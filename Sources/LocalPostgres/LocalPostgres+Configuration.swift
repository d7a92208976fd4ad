import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension LocalPostgres {
    /// Where the embedded cluster lives and which TCP port it listens on.
    ///
    /// The cluster directory holds the PostgreSQL data directory (`data/`), the generated password
    /// (`password`, mode 0600), the server log (`postgres.log`), the lock file (`settle.lock`) and the
    /// server's Unix-domain socket.
    public struct Configuration: Sendable, Hashable {
        /// The port used when `SETTLE_PG_PORT` is not set.
        public static let defaultPort = 55432

        /// The cluster directory, owned by Settle. PostgreSQL's own data directory (`PGDATA`) is
        /// `dataDirectory/data`.
        public var dataDirectory: String
        /// The TCP port the server listens on, on 127.0.0.1 only.
        public var port: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - dataDirectory: The cluster directory; a relative path is taken relative to the current directory.
        ///   - port: The TCP port on 127.0.0.1, 1...65535.
        public init(dataDirectory: String, port: Int = Configuration.defaultPort) {
            self.dataDirectory = dataDirectory
            self.port = port
        }

        /// The configuration derived from the environment.
        ///
        /// The cluster directory is, in order of preference:
        /// 1. `$SETTLE_HOME/postgres` when `SETTLE_HOME` is set and not empty;
        /// 2. `/var/lib/settle/postgres` when the process runs as root;
        /// 3. `$XDG_DATA_HOME/settle/postgres` when `XDG_DATA_HOME` is set;
        /// 4. `~/.local/share/settle/postgres` otherwise.
        ///
        /// The port is `SETTLE_PG_PORT` when it holds a number in 1...65535, otherwise ``defaultPort``.
        /// - Parameter environment: The environment to read, the process's own by default.
        public static func `default`(
            environment: [String: String] = ProcessInfo.processInfo.environment
        ) -> Configuration {
            resolve(environment: environment, isRoot: geteuid() == 0)
        }

        /// The logic of ``default(environment:)`` with the root check made explicit, for tests.
        static func resolve(environment: [String: String], isRoot: Bool) -> Configuration {
            func value(_ name: String) -> String? {
                guard let raw = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines),
                    !raw.isEmpty
                else { return nil }
                return raw
            }

            let port =
                value("SETTLE_PG_PORT").flatMap(Int.init).flatMap { (1...65535).contains($0) ? $0 : nil }
                ?? defaultPort

            let directory: String
            if let settleHome = value("SETTLE_HOME") {
                directory = joinPath(absolutePath(settleHome), "postgres")
            } else if isRoot {
                directory = "/var/lib/settle/postgres"
            } else if let dataHome = value("XDG_DATA_HOME") {
                directory = joinPath(absolutePath(dataHome), "settle/postgres")
            } else {
                let home = value("HOME") ?? NSHomeDirectory()
                directory = joinPath(absolutePath(home), ".local/share/settle/postgres")
            }
            return Configuration(dataDirectory: directory, port: port)
        }
    }
}

/// Joins two path components with exactly one slash between them.
func joinPath(_ base: String, _ component: String) -> String {
    var base = base
    while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
    return base == "/" ? "/" + component : base + "/" + component
}

/// Makes `path` absolute (relative to the current directory) and removes `.`/`..` components and
/// trailing slashes, without resolving symbolic links.
func absolutePath(_ path: String) -> String {
    let url: URL
    if path.hasPrefix("/") {
        url = URL(fileURLWithPath: path)
    } else {
        url = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
    }
    var result = url.standardizedFileURL.path
    while result.count > 1 && result.hasSuffix("/") { result.removeLast() }
    return result
}
