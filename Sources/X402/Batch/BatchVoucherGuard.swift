import EVM
import Ledger
import PostgresNIO

/// A voucher's channel update, written by `settle.x402_batch_commit_voucher` in the statement that
/// posts its charge (``PostingGuard``): the channel's charged cumulative moves from the value the
/// voucher was checked against to the new one, or nothing is written.
struct BatchVoucherGuard: PostingGuard {
    static let function = "settle.x402_batch_commit_voucher"
    static let argumentTypes: [PostgresDataType] = [.text, .text, .text, .text, .text]

    var channel: Hash32
    var oldCharged: EVM.UInt256
    var charged: EVM.UInt256
    var signedMax: EVM.UInt256
    var signature: [UInt8]

    func appendArguments(to bindings: inout PostgresBindings) {
        bindings.append(channel.hex)
        bindings.append(oldCharged.description)
        bindings.append(charged.description)
        bindings.append(signedMax.description)
        bindings.append(Hex.encode(signature))
    }
}
