import Logging
import ServiceLifecycle

/// Mines a block every ``DevChainConfiguration/blockTime`` (never when it is zero) until graceful
/// shutdown.
struct DevChainMiner: Service {
    let chain: DevChain
    let logger: Logger

    func run() async throws {
        let interval = chain.configuration.blockTime
        guard interval > .zero else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var deadline = clock.now.advanced(by: interval)
            while !Task.isCancelled {
                do {
                    try await Task.sleep(until: deadline, clock: clock)
                } catch {
                    return
                }
                if let block = try? await chain.mine(blocks: 1).first {
                    logger.debug("mined block", metadata: ["number": "\(block.number)", "transactions": "\(block.transactions.count)"])
                }
                // Fixed cadence; after a stall, resume from now rather than mining a burst.
                deadline = max(deadline.advanced(by: interval), clock.now)
            }
        }
    }
}
