import Ledger
import Synchronization

/// Group commit (decision 0005): while a batch is being committed, the items that come queue up,
/// and the next batch takes them all (up to ``maxBatch``). An idle server commits a lone item at
/// once; a busy one in batches as large as the load makes them, with no timer. The first item to
/// find no batch running starts a task that commits batches until the queue is empty, so nothing
/// runs while nothing is queued and there is no service to start. With ``lanes`` above one, a
/// second task starts beside a running one once ``minConcurrentBatch`` items wait, as the
/// ledger's group commit keeps two batches in flight: one commits while the other fills; batches
/// then start in queue order but may end out of it. Each caller gets the answer of its own item,
/// after its batch is durable. Batch-settlement vouchers (``BatchVoucherQueue``, two lanes: a
/// channel has one voucher in flight, so two batches never share one) and `exact` settlements'
/// bookings (decision 0041, one lane) go through it.
final class GroupQueue<Commit: Sendable, Answer: Sendable>: Sendable {
    /// The most items in one batch.
    let maxBatch: Int
    /// How many batches may be committing at once.
    let lanes: Int
    /// How many items must wait before a batch starts beside a running one.
    let minConcurrentBatch: Int
    /// The answer of an item its batch gave none for.
    private let missing: Answer

    private struct State {
        var pending: [(commit: Commit, continuation: CheckedContinuation<Answer, Never>)] = []
        var draining = 0
    }

    private let state = Mutex(State())

    init(maxBatch: Int, lanes: Int = 1, minConcurrentBatch: Int = 16, missing: Answer) {
        self.maxBatch = max(1, maxBatch)
        self.lanes = max(1, lanes)
        self.minConcurrentBatch = max(1, minConcurrentBatch)
        self.missing = missing
    }

    /// Queues `commit` and waits for its answer; `run` commits a batch and answers each of its
    /// items, in order.
    func commit(_ commit: Commit, run: @escaping @Sendable ([Commit]) async -> [Answer]) async -> Answer {
        await withCheckedContinuation { continuation in
            let lead = state.withLock { state -> Bool in
                state.pending.append((commit, continuation))
                guard state.draining == 0 || (state.draining < lanes && state.pending.count >= minConcurrentBatch) else { return false }
                state.draining += 1
                return true
            }
            if lead { Task { await self.drain(run) } }
        }
    }

    private func drain(_ run: @Sendable ([Commit]) async -> [Answer]) async {
        while true {
            let batch = state.withLock { state -> [(commit: Commit, continuation: CheckedContinuation<Answer, Never>)]? in
                guard !state.pending.isEmpty else {
                    state.draining -= 1
                    return nil
                }
                let count = min(maxBatch, state.pending.count)
                defer { state.pending.removeFirst(count) }
                return Array(state.pending.prefix(count))
            }
            guard let batch else { return }
            let answers = await run(batch.map(\.commit))
            for (index, item) in batch.enumerated() {
                item.continuation.resume(returning: index < answers.count ? answers[index] : missing)
            }
        }
    }
}

/// Batch-settlement vouchers, up to 500 in one statement.
typealias BatchVoucherQueue = GroupQueue<X402BatchStore.VoucherCommit, Result<Bool, LedgerError>>

extension GroupQueue where Commit == X402BatchStore.VoucherCommit, Answer == Result<Bool, LedgerError> {
    convenience init() {
        self.init(maxBatch: 500, lanes: 2, missing: .failure(LedgerError(.database, "the batch gave no answer for the voucher")))
    }
}
