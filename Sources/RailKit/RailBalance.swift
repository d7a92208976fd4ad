import Foundation
import Ledger

/// What the rail itself says one of its assets' balance is (a processor's balance, a token's
/// `balanceOf`), compared by the reconciler with the ledger's accounts that mirror it.
public struct RailBalance: Sendable, Hashable, Codable {
    public var asset: AssetID
    /// Signed: a processor balance can be negative after refunds and disputes.
    public var amount: SignedAmount
    /// Which rail figure this is (e.g. `available+pending`), for the evidence of a drift.
    public var source: String

    public init(asset: AssetID, amount: SignedAmount, source: String) {
        self.asset = asset
        self.amount = amount
        self.source = source
    }
}
