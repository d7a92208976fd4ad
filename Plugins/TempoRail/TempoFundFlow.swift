import Ledger
import RailKit

/// How money moves on a Tempo chain, which is final on inclusion (no holds): charges (TIP-20
/// transfers, with the memo that ties them to their MPP challenge), session channels (deposits
/// into the escrow, settlements to the merchant, refunds to the payer) and the fees a watched
/// address or sponsor paid. `tempo:{asset}:wallet:{address}` mirrors the address's balance on
/// chain: its opening balance, what arrives, less the fees it pays.
///
/// `tempo:{asset}:escrow:{channel}` is the channel's prepaid balance: deposits in, settlements and
/// the refund out, so it returns to zero once the channel is closed or withdrawn.
/// `tempo:{asset}:vouchers:{channel}` is what the merchant earned on the channel and has not yet
/// collected on chain: the MPP session server debits it with every charge it books to the
/// merchant's revenue (decision 0020), and each settlement credits it, so it is zero whenever the
/// settlements have caught up with the vouchers.
enum TempoFundFlow {
    static let flow = FundFlow(
        states: ["open", "final", "deposited", "settled", "refunded", "spent"],
        accounts: [
            .init("tempo:{asset}:wallet:{address}", normalSide: .debit, summary: "the tokens the watched address holds on chain"),
            .init(
                "tempo:{asset}:incoming:{address}", normalSide: .debit, clearing: true,
                summary: "charges arrived at the address, until matched with their MPP challenge (by memo)"),
            .init(
                "tempo:{asset}:escrow:{channel}", normalSide: .debit, clearing: true,
                summary: "a session channel's deposit held by the escrow: the payer's prepaid balance"),
            .init(
                "tempo:{asset}:vouchers:{channel}", normalSide: .debit, clearing: true,
                summary: "charges the MPP session server booked on the channel's vouchers, not yet settled on chain"),
            .init(
                "tempo:{asset}:payer:{payer}", normalSide: .credit,
                summary: "what a channel's payer deposited and has not yet paid out or got back: deposits less settlements and refunds"),
            .init(
                "tempo:{asset}:opening:{address}", normalSide: .credit,
                summary: "what the watched address held before the rail's start block: where its wallet account starts from"),
            .init(
                "tempo:{asset}:fees", normalSide: .debit, summary: "transaction fees the watched addresses and sponsors paid, in stablecoin"
            ),
        ],
        transitions: [
            .init(
                "opening", from: [], to: "open",
                postings: [
                    .init(.debit, "tempo:{asset}:wallet:{address}", "amount"), .init(.credit, "tempo:{asset}:opening:{address}", "amount"),
                ],
                summary: "the address's token balance before the start block, booked once, on the rail's first page"),
            .init(
                "charge", from: [], to: "final",
                postings: [
                    .init(.debit, "tempo:{asset}:wallet:{address}", "amount"), .init(.credit, "tempo:{asset}:incoming:{address}", "amount"),
                ],
                summary: "a TIP-20 transfer to a watched address (the memo, when any, is the parent reference): final on inclusion"),
            .init(
                "deposit", from: [], to: "deposited",
                postings: [
                    .init(.debit, "tempo:{asset}:escrow:{channel}", "amount"), .init(.credit, "tempo:{asset}:payer:{payer}", "amount"),
                ],
                summary: "a channel opened or topped up: the payer's tokens are in the escrow"),
            .init(
                "settlement", from: [], to: "settled",
                postings: [
                    .init(.debit, "tempo:{asset}:wallet:{address}", "amount"), .init(.credit, "tempo:{asset}:vouchers:{channel}", "amount"),
                    .init(.debit, "tempo:{asset}:payer:{payer}", "amount"), .init(.credit, "tempo:{asset}:escrow:{channel}", "amount"),
                ],
                summary:
                    "a voucher settled (or the captured part of a close): paid from the escrow to the merchant, collecting the vouchers booked on the channel"
            ),
            .init(
                "refund", from: [], to: "refunded",
                postings: [
                    .init(.debit, "tempo:{asset}:payer:{payer}", "amount"), .init(.credit, "tempo:{asset}:escrow:{channel}", "amount"),
                ],
                summary: "a channel closed (by the payee, or withdrawn by the payer after the grace period): the rest back to the payer"),
            .init(
                "fee", from: [], to: "spent",
                postings: [.init(.debit, "tempo:{asset}:fees", "amount"), .init(.credit, "tempo:{asset}:wallet:{address}", "amount")],
                summary:
                    "the fee a watched address or sponsor paid (its own transaction or one it sponsored, reverted or not): the fee token's Transfer to the FeeManager"
            ),
        ])
}
