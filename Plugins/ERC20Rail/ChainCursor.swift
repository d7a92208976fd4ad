import Foundation
import Ledger
import RailKit

/// The ERC-20 rail's cursor, opaque to Settle: the last block scanned, the transfers seen but not
/// yet final (with their block's hash, to detect a reorg), and the references recently made final
/// (so a rescan of the last blocks does not take them again).
struct ChainCursor: JSONRailCursor, Sendable {
    static let railName = "ERC-20"

    /// A Transfer log to a watched address (or from one, `outbound`), as first seen.
    struct Seen: Codable, Sendable, Hashable {
        var reference: String
        var asset: AssetID
        /// The watched address: the recipient, or the sender of an outbound transfer.
        var address: String
        /// The other side: who sent it, or whom an outbound transfer paid.
        var sender: String
        var amount: UInt256
        var block: UInt64
        var blockHash: String
        var transaction: String
        var time: UInt64
        /// A transfer from the watched address (absent in cursors written before those were booked).
        var outbound: Bool?

        var date: Date { Date(timeIntervalSince1970: TimeInterval(time)) }

        /// The rail event of `transition` (`seen`, `confirmed`, `reorged`: named for an inbound
        /// transfer, taken as `sending`, `sent`, `unsent` for an outbound one) for this transfer;
        /// every transition of one transfer carries the same data, so each renders the same
        /// transfer however often it is produced.
        func event(_ transition: String) -> RailEvent {
            let out = outbound == true
            let name = out ? (["seen": "sending", "confirmed": "sent", "reorged": "unsent"][transition] ?? transition) : transition
            return RailEvent(
                transition: name, reference: reference, asset: asset, amounts: ["amount": amount], bindings: ["address": address],
                occurredAt: date,
                metadata: ["transaction": .string(transaction), "block": .number(String(block)), (out ? "to" : "from"): .string(sender)])
        }
    }

    var scanned: UInt64?
    var pending: [Seen]
    var recent: [String]
    /// Whether the watched addresses' openings were produced: absent in a cursor written before
    /// openings existed, and false while the start block is still ahead of the chain.
    var opened: Bool?

    init(scanned: UInt64?, pending: [Seen], recent: [String]) {
        self.scanned = scanned
        self.pending = pending
        self.recent = recent
    }
}
