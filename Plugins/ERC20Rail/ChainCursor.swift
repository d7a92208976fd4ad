import Foundation
import Ledger
import RailKit

/// The ERC-20 rail's cursor, opaque to Settle: the last block scanned, the transfers seen but not
/// yet final (with their block's hash, to detect a reorg), and the references recently made final
/// (so a rescan of the last blocks does not take them again).
struct ChainCursor: JSONRailCursor, Sendable {
    static let railName = "ERC-20"

    /// A Transfer log to a watched address, as first seen.
    struct Seen: Codable, Sendable, Hashable {
        var reference: String
        var asset: AssetID
        var address: String
        var sender: String
        var amount: UInt256
        var block: UInt64
        var blockHash: String
        var transaction: String
        var time: UInt64

        var date: Date { Date(timeIntervalSince1970: TimeInterval(time)) }

        /// The rail event of `transition` for this transfer; every transition of one transfer
        /// carries the same data, so each renders the same transfer however often it is produced.
        func event(_ transition: String) -> RailEvent {
            RailEvent(
                transition: transition, reference: reference, asset: asset, amounts: ["amount": amount], bindings: ["address": address],
                occurredAt: date, metadata: ["transaction": .string(transaction), "block": .number(String(block)), "from": .string(sender)])
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
