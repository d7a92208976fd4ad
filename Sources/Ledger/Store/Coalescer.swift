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

    /// A request's place in the queue, and its response once its batch has run.
    public final class Ticket: Sendable {
        private enum State {
            case waiting(CheckedContinuation<Result<Response, LedgerError>, Never>?)
            case done(Result<Response, LedgerError>)
        }

        private let state = Mutex(State.waiting(nil))

        fileprivate init() {}

        fileprivate func fulfill(_ result: Result<Response, LedgerError>) {
            let waiter = state.withLock { state -> CheckedContinuation<Result<Response, LedgerError>, Never>? in
                guard case .waiting(let waiter) = state else { return nil }
                state = .done(result)
                return waiter
            }
            waiter?.resume(returning: result)
        }

        /// The response, once the request's batch has run.
        public func response() async -> Result<Response, LedgerError> {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state -> Result<Response, LedgerError>? in
                    switch state {
                    case .done(let result): return result
                    case .waiting:
                        state = .waiting(continuation)
                        return nil
                    }
                }
                if let done { continuation.resume(returning: done) }
            }
        }
    }

    private struct Pending {
        var request: Request
        var ticket: Ticket
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
        await enqueue(request).response()
    }

    /// Queues a request now, without waiting: requests enqueued one after the other run in that
    /// order (in one batch, or in batches that start in that order), so a caller holding its own
    /// lock can keep related requests in order and wait for their responses after releasing it.
    public func enqueue(_ request: Request) -> Ticket {
        let ticket = Ticket()
        let (accepted, wakeup) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !state.closed else { return (false, nil) }
            state.queue.append(Pending(request: request, ticket: ticket))
            guard ready(state) else { return (true, nil) }
            defer { state.wakeup = nil }
            return (true, state.wakeup)
        }
        if accepted {
            wakeup?.resume()
        } else {
            ticket.fulfill(.failure(closedError))
        }
        return ticket
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
            pending.ticket.fulfill(.failure(abandoned))
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
            pending.ticket.fulfill(
                k < results.count ? results[k] : .failure(LedgerError(.database, "the batch returned no result for this request")))
        }
    }
}
