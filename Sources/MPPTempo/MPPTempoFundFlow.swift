import Ledger
import RailKit

/// How MPP's Tempo charges are booked: the revenue side of a charge the Tempo rail books on chain.
///
/// `tempo:{asset}:incoming:{recipient}` is the Tempo rail's clearing account for transfers to a
/// watched address (it credits it when the transfer is final on chain); a paid challenge debits it
/// and credits the route's merchant account, so it returns to zero once both sides are booked. The
/// reference is `eip155:<chain>/<tx hash>`; the parent reference is the challenge-bound memo, the
/// Tempo rail's parent reference of the same transfer.
public enum MPPTempoFundFlow {
    public static let flow = FundFlow(
        states: ["paid"],
        accounts: [
            .init(
                "tempo:{asset}:incoming:{recipient}", normalSide: .debit, clearing: true,
                summary: "charges arrived at the address, until matched with their MPP challenge (by memo)"),
            .init("{merchant}", normalSide: .credit, summary: "the route's revenue account"),
        ],
        transitions: [
            .init(
                "charge", from: [], to: "paid",
                postings: [
                    .init(.debit, "tempo:{asset}:incoming:{recipient}", "amount"), .init(.credit, "{merchant}", "amount"),
                ],
                summary: "a tempo/charge challenge paid by a transfer final on chain: the recipient's part is the route's revenue")
        ])

    /// The rail MPP's Tempo charges are booked on.
    public static func descriptor(id: String = "mpp-tempo", assets: [Asset]) -> RailDescriptor {
        RailDescriptor(
            id: id, kind: "mpp", summary: "MPP tempo/charge payments: revenue of paid challenges, cleared by the Tempo rail",
            assets: assets, capabilities: [], fundFlow: flow)
    }
}
