import Foundation

/// The balances of a subtree of accounts (every id starting with a prefix) summed per asset: what
/// a merchant's whole tree holds, now or at any past effective time.
public struct BalanceRollUp: Sendable, Hashable {
    public var asset: AssetID
    /// How many accounts of the subtree hold this asset.
    public var accounts: Int
    public var debitsPosted: UInt256
    public var creditsPosted: UInt256
    public var debitsPending: UInt256
    public var creditsPending: UInt256

    public init(
        asset: AssetID, accounts: Int, debitsPosted: UInt256, creditsPosted: UInt256, debitsPending: UInt256, creditsPending: UInt256
    ) {
        self.asset = asset
        self.accounts = accounts
        self.debitsPosted = debitsPosted
        self.creditsPosted = creditsPosted
        self.debitsPending = debitsPending
        self.creditsPending = creditsPending
    }
}
