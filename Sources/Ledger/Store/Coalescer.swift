import Synchronization

/// Runs concurrent requests in batches: while ``maxInFlight`` batches are running, new requests
/// queue, and the next free slot takes everything queued (up to ``maxBatch``). An idle store runs a
/// lone request at once; a busy one runs batches as large as its load makes them, with no timer
/// adding latency to either (decision 0005). The mechanism of ``GroupCommit`` and ``BalanceReads``.
///
/// A request waits for the batch that holds it, so it sees everything that was done before it
/// was submitted. ``run()`` processes batches until ``close()``, then the rest of the queue.
final class Coalescer<Request: Sendable, Response: Sendable>: Sendable {
    typealias Process = @Sendable ([Request]) async -> [Result<Response, LedgerError>]

    private struct Pending {
        var request: Request
        var continuation: CheckedContinuation<Result<Response, LedgerError>, Never>
    }

    private struct State {
        var queue: [Pending] = []
        var wakeup: CheckedContinuation<Void, Never>?
        var closed = false
    }

    let maxBatch: Int
    let maxInFlight: Int
    private let process: Process
    private let closedError: LedgerError
    private let state = Mutex(State())

    /// - Parameters:
    ///   - process: runs one batch and returns one result per request, in order.
    ///   - closedError: the answer to requests submitted after ``close()``.
    init(maxBatch: Int, maxInFlight: Int, closedError: LedgerError, process: @escaping Process) {
        self.maxBatch = max(1, maxBatch)
        self.maxInFlight = max(1, maxInFlight)
        self.closedError = closedError
        self.process = process
    }

    /// Queues a request and returns its response once its batch has run.
    func submit(_ request: Request) async -> Result<Response, LedgerError> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<Response, LedgerError>, Never>) in
            let (accepted, wakeup) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                guard !state.closed else { return (false, nil) }
                state.queue.append(Pending(request: request, continuation: continuation))
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
    func run(abandoned: LedgerError) async {
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                var inFlight = 0
                while true {
                    if inFlight == maxInFlight {
                        await group.next()
                        inFlight -= 1
                    }
                    guard let batch = await nextBatch() else { break }
                    inFlight += 1
                    group.addTask { await self.run(batch) }
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
    func close() {
        let wakeup = state.withLock { state in
            state.closed = true
            defer { state.wakeup = nil }
            return state.wakeup
        }
        wakeup?.resume()
    }

    /// Waits for queued requests and takes up to `maxBatch` of them; nil once closed and empty.
    private func nextBatch() async -> [Pending]? {
        while true {
            let step = state.withLock { state -> Step in
                if !state.queue.isEmpty {
                    let n = min(state.queue.count, maxBatch)
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
