extension LocalPostgres {
    /// A snapshot of the embedded cluster's state, as returned by ``LocalPostgres/status()``.
    public struct Status: Sendable, Hashable {
        /// Whether the cluster has been created (`initdb` has completed).
        public var initialized: Bool
        /// Whether a server process for the cluster is alive.
        public var running: Bool
        /// The connection URL of the `settle` database when the server is running, otherwise `nil`.
        public var url: String?
        /// The absolute path of the cluster directory (the configured ``Configuration/dataDirectory``).
        public var dataDirectory: String
        /// The process id of the running server (the postmaster), otherwise `nil`.
        public var pid: Int?

        /// Creates a status value.
        public init(initialized: Bool, running: Bool, url: String?, dataDirectory: String, pid: Int?) {
            self.initialized = initialized
            self.running = running
            self.url = url
            self.dataDirectory = dataDirectory
            self.pid = pid
        }
    }
}
