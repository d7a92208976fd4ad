import Foundation
import Ledger
import RailKit

/// The processor's balance, as the reconciler's drift check reads it.
struct ProcessorBalance: Decodable, Sendable {
    struct Entry: Decodable, Sendable {
        var amount: Int64
        var currency: String
    }
    var available: [Entry]
    var pending: [Entry]
}

extension CardRail {
    /// The processor's balance (available + pending) of each configured currency as of `at`: its
    /// current balance less the net of every balance transaction created since, because a
    /// processor only tells its balance now.
    public func balances(at: Date) async throws(RailError) -> [RailBalance] {
        let balance: ProcessorBalance = try await processor.get("/v1/balance")
        var totals: [String: Int64] = [:]
        for entry in balance.available + balance.pending { totals[entry.currency, default: 0] += entry.amount }
        var after: String?
        var more = true
        while more {
            var parameters = [("created[gte]", String(Int64(at.timeIntervalSince1970.rounded(.up)))), ("limit", "100")]
            if let after { parameters.append(("starting_after", after)) }
            let page: ProcessorList<BalanceTransaction> = try await processor.get("/v1/balance_transactions", parameters)
            for bt in page.data { totals[bt.currency, default: 0] -= bt.net }
            more = page.hasMore && !page.data.isEmpty
            after = page.data.last?.id
        }
        return assets.keys.sorted().map { currency in
            let total = totals[currency, default: 0]
            return RailBalance(
                asset: assets[currency]!, amount: SignedAmount(UInt256(total.magnitude), negative: total < 0), source: "available+pending")
        }
    }
}
