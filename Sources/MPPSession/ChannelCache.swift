import EVM
import MPP
import Synchronization

/// The channels a server process works on, so that a voucher costs one signature recovery and one
/// (batched) write, not a read. Vouchers on one channel are serialized here: each is checked against
/// and advances ``Entry/head`` under the lock, then waits for its commit; ``Entry/durable`` is what
/// is committed. Any doubt (a conflict, a failed commit) drops the entry, and the next voucher
/// reads the channel from the database again.
final class ChannelCache: Sendable {
    struct Entry: Sendable {
        /// As committed.
        var durable: SessionChannel
        /// As the vouchers in flight will leave it.
        var head: SessionChannel
    }

    private let entries = Mutex<[Hash32: Entry]>([:])

    func with<T: Sendable>(_ id: Hash32, _ body: (inout Entry?) throws(PaymentProblem) -> T) throws(PaymentProblem) -> T {
        try entries.withLock { entries throws(PaymentProblem) -> T in
            var entry = entries[id]
            defer { entries[id] = entry }
            return try body(&entry)
        }
    }

    func drop(_ id: Hash32) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }
}
