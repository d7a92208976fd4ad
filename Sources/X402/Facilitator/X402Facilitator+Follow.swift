import EVM
import Foundation
import Logging

extension X402Facilitator {
    /// What one ``follow(limit:)`` pass did.
    public struct FollowReport: Sendable, Hashable, CustomStringConvertible {
        /// Settlements now `finality` blocks deep: no longer followed.
        public var final = 0
        /// Settlements a reorganization dropped, sent again (their authorization still valid).
        public var resent = 0
        /// Settlements dropped that can no longer be paid: their revenue reversed in the ledger.
        public var reversed = 0

        public init(final: Int = 0, resent: Int = 0, reversed: Int = 0) {
            self.final = final
            self.resent = resent
            self.reversed = reversed
        }

        public var description: String { "\(final) final, \(resent) sent again, \(reversed) reversed" }
    }

    /// Follows what the facilitator settled until the chain makes it final (issue 16 item 4):
    /// nothing stays credited to a merchant without the money on chain.
    ///
    /// For each settled row not yet final: a receipt `finality` blocks deep makes it final; no
    /// receipt (a reorganization dropped the transaction) sends the stored transaction again while
    /// the authorization is valid (the row is pending again until ``reconcile(olderThan:limit:)``
    /// or a client's retry sees its receipt), else reverses the booking (`reversed`); a receipt
    /// that now reverts, or a row sent again that ended failed, is reversed too. Run it
    /// periodically (the worker's `x402-pending` job does).
    @discardableResult
    public func follow(limit: Int = 100) async throws -> FollowReport {
        var report = FollowReport()
        guard let head = try await rpc.block(.latest) else { return report }
        for record in try await store.followed(networks: networks, limit: limit) {
            guard let payment = payment(of: record)?.at(record.createdAt), let text = record.txHash, let hash = try? Hash32(hex: text)
            else { continue }
            do {
                if record.state == .failed {
                    if try await reverse(payment, record, "sent again after a reorganization, it failed") { report.reversed += 1 }
                    continue
                }
                guard record.state == .settled else { continue }
                if let receipt = try await rpc.transactionReceipt(hash) {
                    if !receipt.succeeded {
                        if try await reverse(payment, record, "re-mined after a reorganization, it reverted") { report.reversed += 1 }
                    } else if head.number + 1 >= receipt.blockNumber + configuration.finality, try await store.markFinal(payment.key) {
                        report.final += 1
                    }
                    continue
                }
                if try await authorizationUsed(payment) {
                    // Spent by another transaction (anyone may submit an authorization): the payer's
                    // tokens moved to payTo all the same, which the chain rail books.
                    logger.notice("x402 settlement included by another transaction", metadata: ["key": "\(payment.key)"])
                    if try await store.markFinal(payment.key) { report.final += 1 }
                    continue
                }
                if EVM.UInt256(head.timestamp + configuration.validityMargin) < payment.authorization.validBefore {
                    guard try await store.reopen(payment.key), let reopened = try await store.record(payment.key) else { continue }
                    logger.warning("x402 settlement dropped by a reorganization: sent again", metadata: ["key": "\(payment.key)"])
                    _ = try await resume(payment, record: reopened, deadline: .now)
                    report.resent += 1
                } else if try await reverse(payment, record, "dropped by a reorganization after its authorization expired") {
                    report.reversed += 1
                }
            } catch {
                logger.warning("x402 settlement not followed", metadata: ["key": "\(payment.key)", "error": "\(error)"])
            }
        }
        return report
    }

    /// Records the settlement reversed and books `reversed`: the merchant's revenue goes back to
    /// the incoming clearing account, which the chain rail never credited for it.
    private func reverse(_ payment: CheckedPayment, _ record: SettlementRecord, _ why: String) async throws -> Bool {
        guard try await store.markReversed(payment.key) else { return false }
        logger.error(
            "x402 settlement can no longer be paid: its revenue is reversed", metadata: ["key": "\(payment.key)", "why": "\(why)"])
        let result = payment.failure(.unexpectedSettleError, why, transaction: record.txHash ?? "")
        await book(payment, transition: "reversed", result: result)
        return true
    }
}
