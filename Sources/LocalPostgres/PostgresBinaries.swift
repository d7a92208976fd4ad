import Foundation

/// The PostgreSQL programs used to manage the cluster.
struct PostgresBinaries: Sendable, Hashable {
    /// The directory holding `initdb`, `pg_ctl` and `postgres`.
    var directory: String
    /// The `psql` client (from ``directory`` when it has one, otherwise from `PATH`).
    var psql: String

    var initdb: String { joinPath(directory, "initdb") }
    var pgCtl: String { joinPath(directory, "pg_ctl") }
    var postgres: String { joinPath(directory, "postgres") }

    /// The environment variable that names a binary directory explicitly.
    static let directoryVariable = "SETTLE_PG_BINDIR"

    /// Finds the binaries.
    ///
    /// Search order: `$SETTLE_PG_BINDIR` (exclusive when set); `/usr/lib/postgresql/<major>/bin` for the
    /// major version of an existing cluster; the directory of `pg_ctl` found on `PATH` (symbolic links
    /// resolved, so `/usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl` counts as that
    /// directory); `/usr/lib/postgresql/*/bin`, newest major first; `/usr/local/pgsql/bin`.
    /// - Parameters:
    ///   - clusterMajorVersion: The contents of `PG_VERSION` of an existing cluster, if any.
    ///   - environment: The environment to read `SETTLE_PG_BINDIR` and `PATH` from.
    static func locate(
        clusterMajorVersion: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(LocalPostgresError) -> PostgresBinaries {
        if let explicit = environment[directoryVariable], !explicit.isEmpty {
            if let binaries = complete(explicit) { return binaries }
            throw LocalPostgresError(
                code: .binariesNotFound,
                message: "\(directoryVariable)=\(explicit) does not contain executable initdb, pg_ctl and postgres"
            )
        }

        var candidates: [String] = []
        if let major = clusterMajorVersion {
            candidates.append("/usr/lib/postgresql/\(major)/bin")
        }
        for directory in (environment["PATH"] ?? "").split(separator: ":").map(String.init) where !directory.isEmpty {
            let pgCtl = joinPath(directory, "pg_ctl")
            if FileSystem.isExecutableFile(pgCtl), let resolved = FileSystem.realPath(pgCtl) {
                candidates.append((resolved as NSString).deletingLastPathComponent)
                candidates.append(directory)
            }
        }
        candidates += debianVersionDirectories()
        candidates.append("/usr/local/pgsql/bin")

        for candidate in candidates {
            if let binaries = complete(candidate) { return binaries }
        }
        throw LocalPostgresError(
            code: .binariesNotFound,
            message: "the PostgreSQL server programs (initdb, pg_ctl, postgres) and psql were not found in "
                + (candidates.isEmpty ? "/usr/lib/postgresql/*/bin or PATH" : candidates.joined(separator: ", "))
                + "; install them (Debian/Ubuntu: `apt-get install postgresql`, or run scripts/bootstrap),"
                + " or set \(directoryVariable) to the directory that holds them, or set DATABASE_URL to use"
                + " an existing server"
        )
    }

    /// `/usr/lib/postgresql/<major>/bin` directories, newest major version first.
    private static func debianVersionDirectories() -> [String] {
        let root = "/usr/lib/postgresql"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        return
            entries
            .compactMap { entry -> (Double, String)? in
                guard let version = Double(entry) else { return nil }
                return (version, joinPath(joinPath(root, entry), "bin"))
            }
            .sorted { $0.0 > $1.0 }
            .map(\.1)
    }

    /// The binaries in `directory` when all server programs are there, with a `psql`.
    private static func complete(_ directory: String) -> PostgresBinaries? {
        for program in ["initdb", "pg_ctl", "postgres"] {
            guard FileSystem.isExecutableFile(joinPath(directory, program)) else { return nil }
        }
        let localPsql = joinPath(directory, "psql")
        let psql = FileSystem.isExecutableFile(localPsql) ? localPsql : FileSystem.findExecutable("psql")
        guard let psql else { return nil }
        return PostgresBinaries(directory: directory, psql: psql)
    }
}
