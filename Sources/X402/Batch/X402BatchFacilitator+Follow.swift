import EVM
import Foundation
import Logging

extension X402BatchFacilitator {
    /// Follows the deposits, claims, sweeps and refunds this facilitator sent until the chain makes
    /// them final (issue 16 item 4, as ``X402Facilitator/follow(limit:)`` for `exact`): nothing
    /// booked from a receipt stays booked without its transaction on chain.
    ///
    /// For each stored transaction not final yet: a receipt `finality` blocks deep makes it final
    /// (a shallower one is recorded where it is); no receipt (never mined, or dropped by a
    /// reorganization) sends the stored transaction again while its nonce is free, or the same
    /// call with a new nonce when its nonce went to another transaction (the row `replaced`, the
    /// new one followed in its place). A claim, sweep or refund can always be sent again: its
    /// signatures do not expire, and the same call reaches the same totals, so its bookings
    /// (keyed by those totals) stand. A deposit whose ERC-3009 authorization expired can no longer
    /// be mined: it is recorded `dropped` and logged as an error, its booking to be reversed by the
    /// operator. Needs a `transactions` store; without one there is nothing to follow.
    @discardableResult
    public func follow(limit: Int = 100) async throws -> X402Facilitator.FollowReport {
        var report = X402Facilitator.FollowReport()
        guard let store = chain.transactions, let head = try await chain.rpc.block(.latest) else { return report }
        for row in try await store.followed(chainID: configuration.token.chainID, limit: limit) {
            do {
                if let receipt = try await chain.rpc.transactionReceipt(row.hash) {
                    if row.blockNumber != receipt.blockNumber || row.state == "broadcast" {
                        if row.state == "mined", !receipt.succeeded {
                            logger.error(
                                "x402 batch transaction re-mined reverting after a reorganization: its booking must be reversed",
                                metadata: ["transaction": "\(row.hash.hex)", "kind": "\(row.kind.rawValue)"])
                        }
                        try await store.mined(row.hash, block: receipt.blockNumber, succeeded: receipt.succeeded)
                    }
                    if head.number + 1 >= receipt.blockNumber + configuration.finality {
                        try await store.finish(row.hash)
                        report.final += 1
                    }
                    continue
                }
                if row.kind == .deposit, let validBefore = row.validBefore, EVM.UInt256(head.timestamp + 6) >= validBefore {
                    try await store.finish(row.hash, state: "dropped")
                    logger.error(
                        "x402 batch deposit dropped after its authorization expired: its booking must be reversed",
                        metadata: ["transaction": "\(row.hash.hex)"])
                    report.reversed += 1
                    continue
                }
                let used = try await chain.rpc.transactionCount(row.sender, block: .latest)
                // Mined between the two reads: seen with its receipt next time, never sent twice.
                if try await chain.rpc.transactionReceipt(row.hash) != nil { continue }
                if used <= row.nonce {
                    // Its nonce is free: the very transaction again (a node that still holds it
                    // answers that it is known, which is as good).
                    _ = try? await chain.rpc.sendRawTransaction(row.rawTx)
                    try await store.resent(row.hash)
                } else {
                    let outcome = try await chain.send(row.callData, gas: row.gas, kind: row.kind, validBefore: row.validBefore)
                    let replacement: Hash32
                    switch outcome {
                    case .mined(let receipt): replacement = receipt.transactionHash
                    case .pending(let hash): replacement = hash
                    }
                    try await store.finish(row.hash, state: "replaced", replacedBy: replacement)
                }
                logger.warning(
                    "x402 batch transaction without a receipt: sent again",
                    metadata: ["transaction": "\(row.hash.hex)", "kind": "\(row.kind.rawValue)"])
                report.resent += 1
            } catch {
                logger.warning("x402 batch transaction not followed", metadata: ["transaction": "\(row.hash.hex)", "error": "\(error)"])
            }
        }
        return report
    }
}
