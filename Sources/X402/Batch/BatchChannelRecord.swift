import EVM
import Foundation
import Ledger

/// A channel as Settle's resource server keeps it (`settle.x402_batch_channels`).
struct BatchChannelRecord: Sendable, Hashable {
    var id: Hash32
    var config: BatchChannelConfig
    /// What the chain held when last read or changed by Settle.
    var chain: BatchChannelState
    var syncedAt: Date?
    /// The cumulative the server's responses were paid with.
    var charged: EVM.UInt256
    /// The highest voucher taken and its signature: what a claim sends.
    var signedMax: EVM.UInt256
    var signature: [UInt8]
    /// What Settle claimed on chain and booked.
    var claimed: EVM.UInt256
    var merchantAccount: String

    /// The corrective 402's `channelState` and `voucherState`, in the shape the official client
    /// resyncs from.
    var corrective: [String: JSONValue] {
        var state = chain.json(channelID: id)
        state["chargedCumulativeAmount"] = .string(charged.description)
        return [
            "channelState": .object(state),
            "voucherState": .object(["signedMaxClaimable": .string(signedMax.description), "signature": .string(Hex.encode(signature))]),
        ]
    }
}
