import Ledger
import Synchronization

/// Group commit of vouchers (decision 0005): while one batch of charges is being committed, the
/// vouchers that come queue up, and the next batch takes them all (up to ``maxBatch``). An idle
/// server commits a lone voucher at once; a busy one in batches as large as the load makes them,
/// with no timer. The first voucher to find no batch running starts a task that commits batches
/// until the queue is empty, so nothing runs while nothing is queued and there is no service to
/// start. Each caller gets the answer of its own voucher, after its batch is durable.
final class BatchVoucherQueue: Sendable {
    typealias Commit = X402BatchStore.VoucherCommit
    typealias Answer = Result<Bool, LedgerError>

    /// The most vouchers in one statement.
    static let maxBatch = 500

    private struct State {
        var pending: [(commit: Commit, continuation: CheckedContinuation<Answer, Never>)] = []
        var draining = false
    }

    private let state = Mutex(State())

    /// Queues `commit` and waits for its answer; `run` commits a batch and answers each of its
    /// vouchers, in order.
    func commit(_ commit: Commit, run: @escaping @Sendable ([Commit]) async -> [Answer]) async -> Answer {
        await withCheckedContinuation { continuation in
            let lead = state.withLock { state -> Bool in
                state.pending.append((commit, continuation))
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if lead { Task { await self.drain(run) } }
        }
    }

    private func drain(_ run: @Sendable ([Commit]) async -> [Answer]) async {
        while true {
            let batch = state.withLock { state -> [(commit: Commit, continuation: CheckedContinuation<Answer, Never>)]? in
                guard !state.pending.isEmpty else {
                    state.draining = false
                    return nil
                }
                let count = min(Self.maxBatch, state.pending.count)
                defer { state.pending.removeFirst(count) }
                return Array(state.pending.prefix(count))
            }
            guard let batch else { return }
            let answers = await run(batch.map(\.commit))
            for (index, item) in batch.enumerated() {
                item.continuation.resume(
                    returning: index < answers.count
                        ? answers[index] : .failure(LedgerError(.database, "the batch gave no answer for the voucher")))
            }
        }
    }
}
