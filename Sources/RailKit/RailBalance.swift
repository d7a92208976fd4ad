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
    /// Fills the placeholders other than `{asset}` of the accounts that mirror this balance (a
    /// token balance is per watched address: `["address": "0x…"]`); empty when the balance is the
    /// whole asset's.
    public var bindings: [String: String]

    public init(asset: AssetID, amount: SignedAmount, source: String, bindings: [String: String] = [:]) {
        self.asset = asset
        self.amount = amount
        self.source = source
        self.bindings = bindings
    }

    enum CodingKeys: String, CodingKey {
        case asset, amount, source, bindings
    }

    /// `bindings` may be left out by an out-of-process rail whose balances are per asset.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        asset = try container.decode(AssetID.self, forKey: .asset)
        amount = try container.decode(SignedAmount.self, forKey: .amount)
        source = try container.decode(String.self, forKey: .source)
        bindings = try container.decodeIfPresent([String: String].self, forKey: .bindings) ?? [:]
    }
}
