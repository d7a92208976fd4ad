import Foundation
import Ledger
import RailKit

/// The Tempo rail's cursor, opaque to Settle: the last block scanned and the open channels it saw
/// open (their token and what has been settled so far, since a v1 close pays its last part without
/// a `Settled` event and the later events do not name the token).
struct TempoCursor: JSONRailCursor, Sendable {
    static let railName = "Tempo"

    struct Channel: Codable, Sendable, Hashable {
        var asset: AssetID
        var settled: UInt256
    }

    var scanned: UInt64?
    var channels: [String: Channel]
    /// Whether the watched addresses' openings were produced: absent in a cursor written before
    /// openings existed, and false while the start block is still ahead of the chain.
    var opened: Bool?

    init(scanned: UInt64?, channels: [String: Channel] = [:]) {
        self.scanned = scanned
        self.channels = channels
    }
}
