import EVM
import Logging
import ServiceLifecycle

/// Claims and sweeps a batch-settlement server's channels on a schedule and on thresholds: every
/// `interval` it claims for each receiver once enough is charged and unclaimed, a charge has
/// waited long enough, or a payer has started a withdrawal (whose vouchers are lost to the
/// receiver once it completes), in batches of at most `maxClaimsPerBatch`, then sweeps.
public struct X402BatchSettler: Service {
    public struct Configuration: Sendable {
        public var interval: Duration
        /// Claim once this much is charged and unclaimed.
        public var amount: EVM.UInt256
        /// Claim once a charge has waited this long.
        public var age: Duration
        public var maxClaimsPerBatch: Int
        /// The chain state of channels with unclaimed charges is read again once it is this old,
        /// to see withdrawals: keep it well under the channels' withdrawal delay.
        public var refreshAge: Duration

        public init(
            interval: Duration = .seconds(60), amount: EVM.UInt256 = 1_000_000, age: Duration = .seconds(120), maxClaimsPerBatch: Int = 100,
            refreshAge: Duration = .seconds(120)
        ) {
            self.interval = interval
            self.amount = amount
            self.age = age
            self.maxClaimsPerBatch = maxClaimsPerBatch
            self.refreshAge = refreshAge
        }
    }

    public let server: X402BatchServer
    public let configuration: Configuration
    let logger: Logger

    public init(
        server: X402BatchServer, configuration: Configuration = .init(), logger: Logger = Logger(label: "settle.x402.batch.settler")
    ) {
        self.server = server
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await round()
            } catch {
                logger.warning("x402 batch settlement round failed; retried next round", metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: configuration.interval)
        }
    }

    /// One round: for each receiver that is due, every claim batch, then one sweep.
    /// - Returns: the channels claimed.
    @discardableResult
    public func round(force: Bool = false) async throws -> Int {
        var total = 0
        for receiver in server.configuration.merchantAccounts.keys.sorted() {
            let address = try Address(receiver)
            try await server.refreshUnclaimed(receiver: address, olderThan: configuration.refreshAge)
            if !force, !(try await server.store.claimDue(receiver: address, amount: configuration.amount, age: configuration.age)) {
                continue
            }
            while true {
                let (claimed, response) = try await server.claim(receiver: address, limit: configuration.maxClaimsPerBatch)
                total += claimed
                if claimed < configuration.maxClaimsPerBatch || response?.success != true { break }
            }
            try await server.sweep(receiver: address)
        }
        return total
    }
}
