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
    /// Which life of the channel id this is (decision 0038): a row whose chain no longer has the
    /// channel it describes starts the next, with bookings of its own.
    var generation = 0

    /// The corrective 402's `channelState` and `voucherState`, in the shape the official client
    /// resyncs from. Without a voucher (a channel known from the chain alone) there is no
    /// `voucherState`: the official client then resyncs from the chain.
    var corrective: [String: JSONValue] {
        var state = chain.json(channelID: id)
        state["chargedCumulativeAmount"] = .string(charged.description)
        guard !signature.isEmpty else { return ["channelState": .object(state)] }
        return [
            "channelState": .object(state),
            "voucherState": .object(["signedMaxClaimable": .string(signedMax.description), "signature": .string(Hex.encode(signature))]),
        ]
    }

    /// Whether the chain's `state` of the channel cannot be the channel this row describes: what
    /// is claimed or the refund nonce went back (neither ever decreases), or the balance the row
    /// saw is gone without a withdrawal it saw started. Then the chain was replaced (a sandbox's
    /// new dev chain under old books), or the payer left with the balance while nobody watched:
    /// either way the row's unclaimed charges can no longer be claimed, and the channel id starts
    /// a new generation.
    func isSuperseded(by state: BatchChannelState) -> Bool {
        state.totalClaimed < claimed || state.totalClaimed < chain.totalClaimed || state.refundNonce < chain.refundNonce
            || (state.balance == .zero && chain.balance > .zero && chain.withdrawRequestedAt == 0)
    }
}
