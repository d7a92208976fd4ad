import Foundation
import Ledger

/// `GET /v1/balances?prefix=…`: a subtree's balances per asset.
struct RollUpWire: Encodable, Sendable {
    struct Item: Encodable, Sendable {
        var asset: String
        var accounts: Int
        var debitsPosted: String
        var creditsPosted: String
        var debitsPending: String
        var creditsPending: String

        enum CodingKeys: String, CodingKey {
            case asset, accounts
            case debitsPosted = "debits_posted"
            case creditsPosted = "credits_posted"
            case debitsPending = "debits_pending"
            case creditsPending = "credits_pending"
        }

        init(_ rollUp: BalanceRollUp) {
            asset = rollUp.asset.rawValue
            accounts = rollUp.accounts
            debitsPosted = rollUp.debitsPosted.description
            creditsPosted = rollUp.creditsPosted.description
            debitsPending = rollUp.debitsPending.description
            creditsPending = rollUp.creditsPending.description
        }
    }

    var prefix: String
    /// The effective time asked for; nil: now.
    var at: Date?
    var items: [Item]

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(prefix, forKey: .prefix)
        try container.encode(at, forKey: .at)
        try container.encode(items, forKey: .items)
    }

    enum CodingKeys: String, CodingKey { case prefix, at, items }
}
