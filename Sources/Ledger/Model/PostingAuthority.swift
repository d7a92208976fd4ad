/// Who posts a transfer, as the posting function checks it, in the same call that posts it.
///
/// The check is atomic with the posting: a transfer that resolves another (post or void a hold,
/// reverse) or names a parent is refused unless that target is there when the batch is checked
/// and touches only accounts the poster may touch, and nothing created after that check can be
/// resolved by the batch (decision 0012).
public struct PostingAuthority: Sendable, Hashable {
    /// The accounts it may touch, directly or through the transfer it resolves: ids starting with
    /// this prefix. nil: every account.
    public var accountPrefix: String?
    /// Kept out of the rails' namespace: transfer ids `<rail>:…` and rail references of a rail
    /// registered by `RailBooker.install`, where only the rails' own bookings go.
    public var excludedFromRailNamespace: Bool

    public init(accountPrefix: String?, excludedFromRailNamespace: Bool) {
        self.accountPrefix = accountPrefix
        self.excludedFromRailNamespace = excludedFromRailNamespace
    }

    /// The ledger's own writers: rails through `RailBooker`, hold expiry, the command line.
    public static let ledger = PostingAuthority(accountPrefix: nil, excludedFromRailNamespace: false)

    /// An API key: its account prefix, if any, and never the rails' namespace.
    public static func apiKey(accountPrefix: String?) -> PostingAuthority {
        PostingAuthority(accountPrefix: accountPrefix, excludedFromRailNamespace: true)
    }
}
