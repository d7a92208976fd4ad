import EVM
import Ledger
import PostgresNIO

/// The channel updates of a batch of vouchers, written by `settle.x402_batch_commit_vouchers` in
/// the statement that posts their charges (``PostingGuard``): every channel moves from the
/// generation and charged cumulative its voucher was checked against to the new one, or nothing is
/// written.
struct BatchVouchersGuard: PostingGuard {
    static let function = "settle.x402_batch_commit_vouchers"
    static let argumentTypes: [PostgresDataType] = [.textArray, .int4Array, .textArray, .textArray, .textArray, .textArray]

    var commits: [X402BatchStore.VoucherCommit]

    func appendArguments(to bindings: inout PostgresBindings) {
        bindings.append(commits.map(\.guarded.channel.hex))
        bindings.append(commits.map { Int32(clamping: $0.generation) })
        bindings.append(commits.map(\.guarded.oldCharged.description))
        bindings.append(commits.map(\.guarded.charged.description))
        bindings.append(commits.map(\.guarded.signedMax.description))
        bindings.append(commits.map { Hex.encode($0.guarded.signature) })
    }
}
