import EVM
import Ledger
import PostgresNIO

/// The channel updates of a batch of vouchers, written by `settle.mpp_commit_vouchers` in the
/// statement that posts their charges (``PostingGuard``): each channel moves from the state its
/// vouchers were checked against to the state of its last voucher, or nothing is written.
struct VoucherBatch: PostingGuard {
    static let function = "settle.mpp_commit_vouchers"
    static let argumentTypes: [PostgresDataType] = [
        .textArray, .textArray, .textArray, .textArray, .textArray, .textArray, .textArray, .int8Array,
    ]

    var ids: [String] = []
    var oldAccepted: [String] = []
    var oldSpent: [String] = []
    var accepted: [String] = []
    var spent: [String] = []
    var signatures: [String] = []
    var charged: [String] = []
    var counts: [Int64] = []

    /// One channel: the condition of its first commit, the state of its last, how many vouchers.
    mutating func append(first: VoucherCommit, last: VoucherCommit, count: Int64) {
        ids.append(first.channel.hex)
        oldAccepted.append(first.expected.accepted.description)
        oldSpent.append(first.expected.spent.description)
        accepted.append(last.accepted.description)
        spent.append(last.spent.description)
        signatures.append(Hex.encode(last.signature))
        charged.append(last.chargedCumulative?.description ?? "")
        counts.append(count)
    }

    func appendArguments(to bindings: inout PostgresBindings) {
        bindings.append(ids)
        bindings.append(oldAccepted)
        bindings.append(oldSpent)
        bindings.append(accepted)
        bindings.append(spent)
        bindings.append(signatures)
        bindings.append(charged)
        bindings.append(counts)
    }
}
