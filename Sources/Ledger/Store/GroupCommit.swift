import Metrics
import ServiceLifecycle
import Synchronization

/// Coalesces concurrent single-transfer posts into batches: one database call and one durable
/// commit for many callers, each of whom still gets the result of its own transfer.
///
/// Batching is natural rather than timed: while ``Configuration/maxInFlight`` batches are being
/// committed, new transfers queue up, and the next free slot takes everything queued (up to
/// ``Configuration/maxBatch``). An idle ledger therefore commits a lone transfer at once, and a
/// busy one commits in batches as large as the load makes them, without a timer adding latency
/// to either (decision 0005).
///
/// A caller's `post` returns only after the batch holding its transfer is committed, so an
/// acknowledged transfer is durable. Run it as a `Service`: on graceful shutdown it stops taking
/// transfers (``LedgerError/Code/shuttingDown``), commits everything already queued, then returns.
public final class GroupCommit: Service, Sendable {
    /// How batches are formed.
    public struct Configuration: Sendable, Hashable {
        /// The most transfers in one batch.
        public var maxBatch: Int
        /// How many batches may be committing at once. Two keep the database busy while the next
        /// batch fills; more add lock contention on hot accounts.
        public var maxInFlight: Int

        public init(maxBatch: Int = 2_000, maxInFlight: Int = 2) {
            self.maxBatch = max(1, min(maxBatch, PostgresLedger.maxBatchSize))
            self.maxInFlight = max(1, maxInFlight)
        }
    }

    private struct Pending {
        var transfer: NewTransfer
        var continuation: CheckedContinuation<Result<TransferResult, LedgerError>, Never>
    }

    private struct State {
        var queue: [Pending] = []
        var wakeup: CheckedContinuation<Void, Never>?
        var closed = false
    }

    public let ledger: PostgresLedger
    public let configuration: Configuration
    private let state = Mutex(State())
    private let batchSize = Recorder(label: "settle_commit_batch_size", aggregate: true)
    private let commitDuration = Timer(label: "settle_commit_duration_seconds", preferredDisplayUnit: .seconds)
    private let committed = Counter(label: "settle_commit_transfers_total")

    public init(ledger: PostgresLedger, configuration: Configuration = .init()) {
        self.ledger = ledger
        self.configuration = configuration
    }

    /// Records one transfer in the next batch and returns its result once the batch is committed.
    /// - Throws: ``LedgerError`` with ``LedgerError/Code/shuttingDown`` after shutdown began, or
    ///   the batch's error (e.g. ``LedgerError/Code/database``); then the transfer may or may not be
    ///   recorded, and posting it again with the same id tells which.
    public func post(_ transfer: NewTransfer) async throws(LedgerError) -> TransferResult {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<TransferResult, LedgerError>, Never>) in
            let (accepted, wakeup) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                guard !state.closed else { return (false, nil) }
                state.queue.append(Pending(transfer: transfer, continuation: continuation))
                defer { state.wakeup = nil }
                return (true, state.wakeup)
            }
            if accepted {
                wakeup?.resume()
            } else {
                continuation.resume(returning: .failure(LedgerError(.shuttingDown, "the ledger is shutting down")))
            }
        }
        return try result.get()
    }

    /// Commits batches until graceful shutdown, then commits what is queued and returns.
    public func run() async {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                var inFlight = 0
                while true {
                    if inFlight == configuration.maxInFlight {
                        await group.next()
                        inFlight -= 1
                    }
                    guard let batch = await nextBatch() else { break }
                    inFlight += 1
                    group.addTask { await self.commit(batch) }
                }
            }
        } onGracefulShutdown: {
            self.close()
        }
        // Cancelled rather than shut down gracefully: nobody is left to commit what is queued.
        let abandoned = state.withLock { state in
            state.closed = true
            defer { state.queue = [] }
            return state.queue
        }
        for pending in abandoned {
            pending.continuation.resume(returning: .failure(LedgerError(.shuttingDown, "the ledger shut down before committing")))
        }
    }

    /// Stops taking transfers; queued ones are still committed.
    func close() {
        let wakeup = state.withLock { state in
            state.closed = true
            defer { state.wakeup = nil }
            return state.wakeup
        }
        wakeup?.resume()
    }

    /// Waits for queued transfers and takes up to `maxBatch` of them; nil once closed and empty.
    private func nextBatch() async -> [Pending]? {
        while true {
            enum Step {
                case batch([Pending])
                case done
                case wait
            }
            let step = state.withLock { state -> Step in
                if !state.queue.isEmpty {
                    let n = min(state.queue.count, configuration.maxBatch)
                    let batch = Array(state.queue.prefix(n))
                    state.queue.removeFirst(n)
                    return .batch(batch)
                }
                return state.closed ? .done : .wait
            }
            switch step {
            case .batch(let batch): return batch
            case .done: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state in
                        if state.queue.isEmpty && !state.closed {
                            state.wakeup = continuation
                            return false
                        }
                        return true
                    }
                    if ready { continuation.resume() }
                }
            }
        }
    }

    private func commit(_ batch: [Pending]) async {
        let start = ContinuousClock.now
        let results = await results(of: batch.map(\.transfer))
        commitDuration.recordNanoseconds(Int64((ContinuousClock.now - start).nanoseconds))
        batchSize.record(batch.count)
        committed.increment(by: batch.count)
        for (pending, result) in zip(batch, results) {
            pending.continuation.resume(returning: result)
        }
    }

    private func results(of transfers: [NewTransfer]) async -> [Result<TransferResult, LedgerError>] {
        do {
            return try await ledger.post(transfers).map { .success($0) }
        } catch  where error.code == .overflow && transfers.count > 1 {
            // One transfer would overflow a balance and the database refused the whole batch:
            // commit them one by one, so that only that transfer's caller gets the error.
            var results: [Result<TransferResult, LedgerError>] = []
            for transfer in transfers {
                do { results.append(.success(try await ledger.post(transfer))) } catch { results.append(.failure(error)) }
            }
            return results
        } catch {
            return Array(repeating: .failure(error), count: transfers.count)
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
