import Synchronization

/// Runs concurrent requests in batches. When nothing is running, the queue is taken at once: an
/// idle store answers a lone request with no added latency. While a batch runs, new requests queue,
/// and a further batch (up to ``maxInFlight`` at once) starts only when ``minConcurrentBatch`` of
/// them are waiting; otherwise they wait for a running batch to end and go in the next one. A busy
/// store thus runs batches as large as its load makes them, and no timer adds latency anywhere
/// (decision 0005). The mechanism of ``GroupCommit`` and ``BalanceReads``, and of MPP sessions
/// that commit voucher state and its bookings together.
///
/// A request waits for the batch that holds it, so it sees everything that was done before it
/// was submitted. ``run(abandoned:)`` processes batches until ``close()``, then the rest of the queue.
public final class Coalescer<Request: Sendable, Response: Sendable>: Sendable {
    public typealias Process = @Sendable ([Request]) async -> [Result<Response, LedgerError>]

    private struct Pending {
        var request: Request
        var continuation: CheckedContinuation<Result<Response, LedgerError>, Never>
    }

    private struct State {
        var queue: [Pending] = []
        var inFlight = 0
        var wakeup: CheckedContinuation<Void, Never>?
        var closed = false
    }

    let maxBatch: Int
    let maxInFlight: Int
    let minConcurrentBatch: Int
    private let process: Process
    private let closedError: LedgerError
    private let state = Mutex(State())

    /// - Parameters:
    ///   - minConcurrentBatch: how many requests must wait before a batch starts beside a running
    ///     one (1: whenever a slot is free).
    ///   - process: runs one batch and returns one result per request, in order.
    ///   - closedError: the answer to requests submitted after ``close()``.
    public init(maxBatch: Int, maxInFlight: Int, minConcurrentBatch: Int = 1, closedError: LedgerError, process: @escaping Process) {
        self.maxBatch = max(1, maxBatch)
        self.maxInFlight = max(1, maxInFlight)
        self.minConcurrentBatch = max(1, min(minConcurrentBatch, self.maxBatch))
        self.closedError = closedError
        self.process = process
    }

    /// Queues a request and returns its response once its batch has run.
    public func submit(_ request: Request) async -> Result<Response, LedgerError> {
        await submit(request, enqueued: {})
    }

    /// Queues a request and returns its response once its batch has run; `enqueued` runs as soon
    /// as the request has its place in the queue (or was refused), before the caller waits, so that
    /// callers can hand their turn to the next one and keep related requests in order.
    public func submit(_ request: Request, enqueued: () -> Void) async -> Result<Response, LedgerError> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<Response, LedgerError>, Never>) in
            defer { enqueued() }
            let (accepted, wakeup) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                guard !state.closed else { return (false, nil) }
                state.queue.append(Pending(request: request, continuation: continuation))
                guard ready(state) else { return (true, nil) }
                defer { state.wakeup = nil }
                return (true, state.wakeup)
            }
            if accepted {
                wakeup?.resume()
            } else {
                continuation.resume(returning: .failure(closedError))
            }
        }
    }

    /// Runs batches until closed and drained. Cancellation closes it; what a cancelled batch
    /// leaves unanswered is answered with `abandoned`.
    public func run(abandoned: LedgerError) async {
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                while let batch = await nextBatch() {
                    group.addTask {
                        await self.run(batch)
                        let wakeup = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                            state.inFlight -= 1
                            guard self.ready(state) || (state.closed && state.queue.isEmpty) else { return nil }
                            defer { state.wakeup = nil }
                            return state.wakeup
                        }
                        wakeup?.resume()
                    }
                }
            }
        } onCancel: {
            self.close()
        }
        let left = state.withLock { state in
            state.closed = true
            defer { state.queue = [] }
            return state.queue
        }
        for pending in left {
            pending.continuation.resume(returning: .failure(abandoned))
        }
    }

    /// Stops taking requests; queued ones still run.
    public func close() {
        let wakeup = state.withLock { state in
            state.closed = true
            defer { state.wakeup = nil }
            return state.wakeup
        }
        wakeup?.resume()
    }

    /// Whether a batch may start now.
    private func ready(_ state: State) -> Bool {
        guard !state.queue.isEmpty, state.inFlight < maxInFlight else { return false }
        return state.inFlight == 0 || state.queue.count >= minConcurrentBatch || state.closed
    }

    /// Waits until a batch may start and takes up to `maxBatch` requests; nil once closed and
    /// empty (after the running batches have ended).
    private func nextBatch() async -> [Pending]? {
        while true {
            let step = state.withLock { state -> Step in
                if ready(state) {
                    let n = min(state.queue.count, maxBatch)
                    let batch = Array(state.queue.prefix(n))
                    state.queue.removeFirst(n)
                    state.inFlight += 1
                    return .batch(batch)
                }
                return state.closed && state.queue.isEmpty ? .done : .wait
            }
            switch step {
            case .batch(let batch): return batch
            case .done: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let wait = state.withLock { state in
                        if ready(state) || (state.closed && state.queue.isEmpty) { return false }
                        state.wakeup = continuation
                        return true
                    }
                    if !wait { continuation.resume() }
                }
            }
        }
    }

    private enum Step {
        case batch([Pending])
        case done
        case wait
    }

    private func run(_ batch: [Pending]) async {
        let results = await process(batch.map(\.request))
        for (k, pending) in batch.enumerated() {
            pending.continuation.resume(
                returning: k < results.count
                    ? results[k] : .failure(LedgerError(.database, "the batch returned no result for this request")))
        }
    }
}
