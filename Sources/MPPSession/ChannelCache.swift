import EVM
import MPP
import Synchronization

/// The channels a server process works on, so that a voucher costs one signature recovery and one
/// (batched) write, not a read. Vouchers on one channel are serialized here: each is checked against
/// and advances ``Entry/head`` under the lock, then waits for its commit; ``Entry/durable`` is what
/// is committed. Any doubt (a conflict, a failed commit) drops the entry, and the next voucher
/// reads the channel from the database again.
///
/// Concurrent vouchers of one channel stay in order twice over: one that arrives ahead of the one
/// before it waits briefly for it (``TempoSessionMethod`` and ``SessionConfiguration/reorderWindow``),
/// and each voucher's commit is queued under the lock that advances ``Entry/head``, so that a batch
/// always finds a channel's commits as a chain.
final class ChannelCache: Sendable {
    struct Entry: Sendable {
        /// As committed.
        var durable: SessionChannel
        /// As the vouchers in flight will leave it.
        var head: SessionChannel
    }

    private struct Waiter {
        var ready: @Sendable (Entry?) -> Bool
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var entries: [Hash32: Entry] = [:]
        /// Vouchers being checked per channel (a lone voucher never waits for another).
        var inFlight: [Hash32: Int] = [:]
        var waiters: [Hash32: [Int: Waiter]] = [:]
        var nextToken = 0
    }

    private let state = Mutex(State())

    func with<T: Sendable>(_ id: Hash32, _ body: (inout Entry?) throws(PaymentProblem) -> T) throws(PaymentProblem) -> T {
        let (result, woken) = try state.withLock { state throws(PaymentProblem) -> (T, [CheckedContinuation<Void, Never>]) in
            var entry = state.entries[id]
            let result = try body(&entry)
            state.entries[id] = entry
            return (result, Self.release(&state, id))
        }
        for continuation in woken { continuation.resume() }
        return result
    }

    func drop(_ id: Hash32) {
        // Whoever waits on the dropped entry starts over from the database.
        let woken = state.withLock { state in
            state.entries.removeValue(forKey: id)
            return Self.release(&state, id)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Counts a voucher as being checked on `id` until `body` returns.
    func checking<T>(_ id: Hash32, _ body: () async throws(PaymentProblem) -> T) async throws(PaymentProblem) -> T {
        state.withLock { $0.inFlight[id, default: 0] += 1 }
        defer {
            state.withLock { state in
                state.inFlight[id]! -= 1
                if state.inFlight[id] == 0 { state.inFlight[id] = nil }
            }
        }
        return try await body()
    }

    /// Whether other vouchers than the caller's are being checked on `id`.
    func othersInFlight(_ id: Hash32) -> Bool {
        state.withLock { ($0.inFlight[id] ?? 0) > 1 }
    }

    /// Waits until `ready` holds for the channel's entry (nil once dropped), or `timeout` passed.
    /// - Returns: whether `ready` held.
    @discardableResult
    func wait(_ id: Hash32, timeout: Duration, until ready: @escaping @Sendable (Entry?) -> Bool) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.until(id, ready) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private func until(_ id: Hash32, _ ready: @escaping @Sendable (Entry?) -> Bool) async -> Bool {
        let token = state.withLock { state in
            defer { state.nextToken += 1 }
            return state.nextToken
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let waiting = state.withLock { state -> Bool in
                    guard !Task.isCancelled, !ready(state.entries[id]) else { return false }
                    state.waiters[id, default: [:]][token] = Waiter(ready: ready, continuation: continuation)
                    return true
                }
                if !waiting { continuation.resume() }
            }
            return !Task.isCancelled
        } onCancel: {
            let waiter = state.withLock { state in state.waiters[id]?.removeValue(forKey: token) }
            waiter?.continuation.resume()
        }
    }

    /// The waiters of `id` whose condition now holds, taken out of the list.
    private static func release(_ state: inout State, _ id: Hash32) -> [CheckedContinuation<Void, Never>] {
        guard let waiting = state.waiters[id] else { return [] }
        let entry = state.entries[id]
        var woken: [CheckedContinuation<Void, Never>] = []
        for (token, waiter) in waiting where waiter.ready(entry) {
            woken.append(waiter.continuation)
            state.waiters[id]![token] = nil
        }
        if state.waiters[id]!.isEmpty { state.waiters[id] = nil }
        return woken
    }
}
