import EVM
import Foundation
import Logging
import ServiceLifecycle

/// Settles session channels in bulk and closes idle ones (a `Service`).
///
/// Every ``Configuration/interval`` it settles each open channel whose unsettled vouchers reach
/// ``Configuration/amount``, have waited ``Configuration/age`` or number ``Configuration/count``,
/// closes channels idle for ``Configuration/idle``, and watches the escrows' `CloseRequested`
/// events: a payer's forced close marks the channel closing (no more vouchers) and its highest
/// voucher is settled at once, well inside the grace period, so it is never lost.
public struct SessionSettler: Service {
    public struct Configuration: Sendable {
        public var interval: Duration
        public var amount: EVM.UInt256
        public var age: Duration
        public var count: Int64
        public var idle: Duration

        public init(
            interval: Duration = .seconds(5), amount: EVM.UInt256 = 10_000_000, age: Duration = .seconds(600), count: Int64 = 10_000,
            idle: Duration = .seconds(3_600)
        ) {
            self.interval = interval
            self.amount = amount
            self.age = age
            self.count = count
            self.idle = idle
        }
    }

    public let method: TempoSessionMethod
    public let configuration: Configuration
    let logger: Logger
    private let cursor = BlockCursor()

    public init(method: TempoSessionMethod, configuration: Configuration = .init(), logger: Logger = Logger(label: "settle.mpp.settler")) {
        self.method = method
        self.configuration = configuration
        self.logger = logger
    }

    /// What one round did.
    public struct Round: Sendable, Hashable {
        public var settled: [Hash32] = []
        public var closed: [Hash32] = []
        public var closeRequests: [Hash32] = []
        public var failures = 0
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully {
            let round = await self.round()
            if round.failures > 0 { logger.warning("mpp settler round had failures", metadata: ["failures": "\(round.failures)"]) }
            let interval = configuration.interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One round: close requests first (they have a deadline), then thresholds, then idle channels.
    public func round() async -> Round {
        var round = Round()
        let chain = method.chain
        let store = method.store
        do {
            let latest = try await chain.rpc.blockNumber()
            let from = await cursor.advance(to: latest)
            if let from {
                round.closeRequests = try await chain.closeRequests(escrows: method.configuration.escrows, from: from, to: latest)
            }
        } catch {
            round.failures += 1
            logger.error("mpp settler cannot read close requests", metadata: ["error": "\(error)"])
        }
        for id in Set(round.closeRequests) {
            guard let channel = try? await store.channel(id), !channel.closed else { continue }
            do {
                _ = try await method.refresh(channel)  // records closeRequestedAt: vouchers stop.
            } catch {
                round.failures += 1
            }
            method.cache.drop(id)
        }
        let due: (settle: [SessionChannel], close: [SessionChannel])
        do {
            due = try await store.due(
                amount: configuration.amount, age: configuration.age, count: configuration.count, idle: configuration.idle,
                chainID: method.configuration.chainID, payee: method.configuration.recipient)
        } catch {
            round.failures += 1
            logger.error("mpp settler cannot read channels", metadata: ["error": "\(error)"])
            return round
        }
        for channel in due.settle {
            // A round never holds up a stop: what is left waits for the next start.
            if Task.isShuttingDownGracefully || Task.isCancelled { return round }
            do {
                _ = try await chain.settle(channel, cumulative: channel.accepted, signature: channel.signature)
                try await store.settled(channel.id, settled: channel.accepted, vouchers: channel.vouchers)
                round.settled.append(channel.id)
            } catch {
                round.failures += 1
                logger.error("mpp settlement failed", metadata: ["channel": "\(channel.id.hex)", "error": "\(error)"])
            }
        }
        for channel in due.close where channel.closeRequestedAt == 0 {
            if Task.isShuttingDownGracefully || Task.isCancelled { return round }
            do {
                // A channel the chain no longer has (finalized, or a dev chain that was reset) is
                // recorded closed instead of being closed again and again.
                guard !(try await method.refresh(channel)).closed else { continue }
                _ = try await method.close(channel.id)
                round.closed.append(channel.id)
            } catch {
                round.failures += 1
            }
        }
        return round
    }
}

/// The next block to scan for close requests. The first round starts a grace period back (15
/// minutes of 0.5 s blocks), so a request made while the server was down is still seen in time.
actor BlockCursor {
    private var next: UInt64?
    static let lookback: UInt64 = 1_800

    /// - Returns: the first block to scan up to `latest`, or nil when there is nothing new.
    func advance(to latest: UInt64) -> UInt64? {
        let from = next ?? (latest > Self.lookback ? latest - Self.lookback : 0)
        guard from <= latest else { return nil }
        next = latest + 1
        return from
    }
}
