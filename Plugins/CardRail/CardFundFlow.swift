import Ledger
import RailKit

/// How card money moves, from an agent's authorization to the merchant's bank, and which ledger
/// accounts each step moves it between. Every amount comes from the processor's objects (balance
/// transactions, payment intents), never recomputed.
///
/// Clearing accounts (`authorized`, `clearing`, `pending`, `refunds`, `disputes`, `in_transit`)
/// return to zero once each payment has finished moving: the reconciler checks them.
enum CardFundFlow {
    static let flow = FundFlow(
        states: [
            "authorized", "captured", "allocated", "released", "available", "paid_out", "arrived", "refunded", "disputed", "resolved",
        ],
        accounts: [
            .init(
                "card:{asset}:authorized", normalSide: .debit, clearing: true,
                summary: "card authorizations the agent may draw on until they are captured or released"),
            .init(
                "{wallet}", normalSide: .credit, limit: .debitsMustNotExceedCredits,
                summary: "the agent's wallet: topped up, or credited with an authorized limit that each call draws on"),
            .init(
                "card:{asset}:clearing", normalSide: .credit, clearing: true,
                summary: "captured gross, until allocated to a wallet or authorization"),
            .init("card:{asset}:pending", normalSide: .debit, clearing: true, summary: "processor balance not yet available"),
            .init("card:{asset}:available", normalSide: .debit, summary: "processor balance available for payouts"),
            .init("card:{asset}:in_transit", normalSide: .debit, clearing: true, summary: "payouts on their way to the bank"),
            .init("card:{asset}:bank", normalSide: .debit, summary: "paid out to the merchant's bank account"),
            .init("card:{asset}:fees", normalSide: .debit, summary: "processor fees (from balance transactions)"),
            .init(
                "card:{asset}:refunds", normalSide: .debit, clearing: true, summary: "refunds paid out, until charged back to the wallet"),
            .init("card:{asset}:disputes", normalSide: .debit, clearing: true, summary: "disputed amounts withdrawn, until won or lost"),
            .init("card:{asset}:dispute_losses", normalSide: .debit, summary: "disputes lost"),
        ],
        transitions: [
            .init(
                "authorized", from: [], to: "authorized",
                postings: [.init(.debit, "card:{asset}:authorized", "amount"), .init(.credit, "{wallet}", "amount")],
                summary: "payment_intent.amount_capturable_updated (manual capture): the authorized limit becomes spendable"),
            .init(
                "captured", from: ["authorized"], to: "captured",
                postings: [
                    .init(.debit, "card:{asset}:pending", "net"), .init(.debit, "card:{asset}:fees", "fee"),
                    .init(.credit, "card:{asset}:clearing", "amount"),
                ],
                summary: "the charge's balance transaction: gross, fee and net as the processor booked them"),
            .init(
                "topped_up", from: ["captured"], to: "allocated",
                postings: [.init(.debit, "card:{asset}:clearing", "amount"), .init(.credit, "{wallet}", "amount")],
                summary: "payment_intent.succeeded (automatic capture): the captured amount funds the wallet"),
            .init(
                "limit_captured", from: ["captured"], to: "allocated",
                postings: [.init(.debit, "card:{asset}:clearing", "amount"), .init(.credit, "card:{asset}:authorized", "amount")],
                summary: "payment_intent.succeeded (manual capture): the captured sum settles the authorization"),
            .init(
                "limit_released", from: ["authorized", "allocated"], to: "released",
                postings: [.init(.debit, "{wallet}", "amount"), .init(.credit, "card:{asset}:authorized", "amount")],
                summary: "the uncaptured rest of an authorization (partial capture, cancel or expiry) leaves the wallet"),
            .init(
                "available", from: ["captured", "refunded", "disputed"], to: "available",
                postings: [.init(.debit, "card:{asset}:available", "amount"), .init(.credit, "card:{asset}:pending", "amount")],
                summary: "a balance transaction with a positive net becomes available (seen in a payout)"),
            .init(
                "available_negative", from: ["refunded", "disputed"], to: "available",
                postings: [.init(.debit, "card:{asset}:pending", "amount"), .init(.credit, "card:{asset}:available", "amount")],
                summary: "a balance transaction with a negative net becomes available (seen in a payout)"),
            .init(
                "refunded", from: ["captured", "available"], to: "refunded",
                postings: [.init(.debit, "card:{asset}:refunds", "amount"), .init(.credit, "card:{asset}:pending", "amount")],
                summary: "the refund's balance transaction"),
            .init(
                "refund_charged", from: ["refunded"], to: "refunded",
                postings: [.init(.debit, "{wallet}", "amount"), .init(.credit, "card:{asset}:refunds", "amount")],
                summary: "the refunded amount is taken back from the wallet the payment funded"),
            .init(
                "disputed", from: ["captured", "available"], to: "disputed",
                postings: [
                    .init(.debit, "card:{asset}:disputes", "amount"), .init(.debit, "card:{asset}:fees", "fee"),
                    .init(.credit, "card:{asset}:pending", "net"),
                ],
                summary: "the dispute's withdrawal balance transaction, with its dispute fee"),
            .init(
                "dispute_won", from: ["disputed"], to: "resolved",
                postings: [.init(.debit, "card:{asset}:pending", "amount"), .init(.credit, "card:{asset}:disputes", "amount")],
                summary: "the dispute's reinstatement balance transaction"),
            .init(
                "dispute_lost", from: ["disputed"], to: "resolved",
                postings: [.init(.debit, "card:{asset}:dispute_losses", "amount"), .init(.credit, "card:{asset}:disputes", "amount")],
                summary: "charge.dispute.closed with status lost"),
            .init(
                "paid_out", from: ["available"], to: "paid_out",
                postings: [.init(.debit, "card:{asset}:in_transit", "amount"), .init(.credit, "card:{asset}:available", "amount")],
                summary: "the payout's balance transaction"),
            .init(
                "payout_arrived", from: ["paid_out"], to: "arrived",
                postings: [.init(.debit, "card:{asset}:bank", "amount"), .init(.credit, "card:{asset}:in_transit", "amount")],
                summary: "payout.paid"),
            .init(
                "payout_returned", from: ["arrived"], to: "paid_out",
                postings: [.init(.debit, "card:{asset}:in_transit", "amount"), .init(.credit, "card:{asset}:bank", "amount")],
                summary: "payout.failed after payout.paid: the bank returned the funds"),
            .init(
                "payout_failed", from: ["paid_out"], to: "available",
                postings: [.init(.debit, "card:{asset}:available", "amount"), .init(.credit, "card:{asset}:in_transit", "amount")],
                summary: "the payout failure's balance transaction: the funds are back"),
        ])
}
