import Ledger
import RailKit

/// How ERC-20 money moves once it is on chain: a transfer to a watched address is held while it
/// is only seen, posted once it is `confirmations` blocks deep, and voided if its block is
/// reorganized away; a transfer from a watched address goes the same way out of its wallet
/// account (`sending` → `sent`, or `unsent`), so the wallet account follows `balanceOf` both ways.
/// Gas the watched payers spent is booked in the chain's native asset.
///
/// `evm:{asset}:incoming:{address}` is the clearing account shared with the x402 flow: x402 debits
/// it when its facilitator settles a payment to `address`, this rail credits it when the chain
/// shows the tokens arrived, so it returns to zero once both sides are booked.
enum ERC20FundFlow {
    static let flow = FundFlow(
        states: ["open", "seen", "final", "reorged", "spent", "sending", "sent", "unsent"],
        accounts: [
            .init("evm:{asset}:wallet:{address}", normalSide: .debit, summary: "the tokens the watched address holds on chain"),
            .init(
                "evm:{asset}:incoming:{address}", normalSide: .debit, clearing: true,
                summary: "tokens arrived at the address, until matched with the payment that sent them (x402 settlement)"),
            .init(
                "evm:{asset}:opening:{address}", normalSide: .credit,
                summary: "what the watched address held before the rail's start block: where its wallet account starts from"),
            .init("evm:{asset}:gas", normalSide: .debit, summary: "gas paid by the watched payers, in the native asset"),
            .init(
                "evm:{asset}:outgoing:{address}", normalSide: .debit,
                summary: "tokens the watched address sent to other addresses (withdrawals, payments it made)"),
        ],
        transitions: [
            .init(
                "opening", from: [], to: "open",
                postings: [
                    .init(.debit, "evm:{asset}:wallet:{address}", "amount"), .init(.credit, "evm:{asset}:opening:{address}", "amount"),
                ],
                summary: "the address's token balance before the start block, booked once, on the rail's first page"),
            .init(
                "seen", from: [], to: "seen", action: .hold(timeout: nil),
                postings: [
                    .init(.debit, "evm:{asset}:wallet:{address}", "amount"), .init(.credit, "evm:{asset}:incoming:{address}", "amount"),
                ],
                summary: "a Transfer log to a watched address is in a block: held until final"),
            .init(
                "confirmed", from: ["seen"], to: "final", action: .postHold(of: "seen", amount: nil), postings: [],
                summary: "the log's block is `confirmations` deep and still canonical: posted"),
            .init(
                "reorged", from: ["seen"], to: "reorged", action: .voidHold(of: "seen"), postings: [],
                summary: "the log's block left the canonical chain before it was final: voided"),
            .init(
                "gas", from: [], to: "spent",
                postings: [.init(.debit, "evm:{asset}:gas", "amount"), .init(.credit, "evm:{asset}:wallet:{address}", "amount")],
                summary: "gas (gasUsed × effectiveGasPrice) of a transaction sent by a watched payer, once final"),
            .init(
                "sending", from: [], to: "sending", action: .hold(timeout: nil),
                postings: [
                    .init(.debit, "evm:{asset}:outgoing:{address}", "amount"), .init(.credit, "evm:{asset}:wallet:{address}", "amount"),
                ],
                summary: "a Transfer log from a watched address is in a block: held until final"),
            .init(
                "sent", from: ["sending"], to: "sent", action: .postHold(of: "sending", amount: nil), postings: [],
                summary: "the outgoing log's block is `confirmations` deep and still canonical: posted"),
            .init(
                "unsent", from: ["sending"], to: "unsent", action: .voidHold(of: "sending"), postings: [],
                summary: "the outgoing log's block left the canonical chain before it was final: voided"),
        ])
}
