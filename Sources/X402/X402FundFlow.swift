import Ledger
import RailKit

/// How x402 money moves in the ledger, as data.
///
/// - `verified`: the facilitator accepted the authorization for settlement (before any
///   transaction): a hold debiting `evm:{asset}:incoming:{payto}` and crediting `{merchant}`, of
///   the price (`exact`) or of the amount charged (`upto`, never more than the signed maximum).
/// - `settled`: the transfer's receipt was seen with status 1 and a matching `Transfer` log:
///   the hold is posted.
/// - `settlement_failed`: the transaction reverted or never could be mined: the hold is voided.
/// - `reversed`: the settled transaction left the chain in a reorganization before it was final
///   and could not be paid again: the posted revenue goes back to the incoming account.
///
/// The incoming account is a clearing account: the ERC-20 chain rail credits the same
/// `evm:{asset}:incoming:{to}` when it sees the transfer final on chain (against the merchant's
/// wallet account), so it returns to zero once both sides are booked. `{payto}` is the lowercase
/// `0x` address; `{merchant}` the revenue account configured for it. Every reference is
/// `<network>/<asset>/<payer>/<nonce>`.
public enum X402FundFlow {
    public static let incoming = "evm:{asset}:incoming:{payto}"
    public static let merchant = "{merchant}"

    /// The flow; holds expire after `holdTimeout` seconds (the longest `maxTimeoutSeconds`
    /// accepted plus 60).
    public static func flow(holdTimeout: Int64) -> FundFlow {
        FundFlow(
            states: ["verified", "settled", "failed", "reversed"],
            accounts: [
                .init(
                    incoming, normalSide: .debit, clearing: true,
                    summary: "money the facilitator settled on chain to payTo, until the chain rail books it final"),
                .init(merchant, normalSide: .credit, summary: "the route's revenue account"),
            ],
            transitions: [
                .init(
                    "verified", from: [], to: "verified", action: .hold(timeout: holdTimeout),
                    postings: [.init(.debit, incoming, "amount"), .init(.credit, merchant, "amount")],
                    summary: "the authorization is verified and reserved for settlement: the route's price (upto: the charge) is held"),
                .init(
                    "settled", from: ["verified"], to: "settled", action: .postHold(of: "verified", amount: nil), postings: [],
                    summary:
                        "the settlement (exact: transferWithAuthorization; upto: the proxy's Permit2 transfer of the charge) mined with status 1 and the expected Transfer log"
                ),
                .init(
                    "settlement_failed", from: ["verified"], to: "failed", action: .voidHold(of: "verified"), postings: [],
                    summary: "the settlement transaction reverted or can never be mined"),
                .init(
                    "reversed", from: ["settled"], to: "reversed",
                    postings: [.init(.debit, merchant, "amount"), .init(.credit, incoming, "amount")],
                    summary:
                        "a reorganization dropped the settlement before it was final and it can no longer be paid (its authorization expired or the transfer reverted): the revenue is taken back"
                ),
            ])
    }

    /// The x402 rail: kind `x402`, no pull/webhook capability, the configured tokens as `erc20`
    /// assets.
    public static func descriptor(id: String = "x402", tokens: [X402Token], holdTimeout: Int64) -> RailDescriptor {
        RailDescriptor(
            id: id, kind: "x402",
            summary: "x402 payments settled by the facilitator (exact: EIP-3009 transferWithAuthorization; upto: Permit2)",
            assets: tokens.map(\.ledgerAsset), capabilities: [], fundFlow: flow(holdTimeout: holdTimeout))
    }
}
