import Crypto
import Foundation
import Ledger
import RailKit

extension Reconciler {
    /// The profile's automatic resolutions of a finished run: a fee difference within tolerance is
    /// moved between the rail's fee account and the suspense account by a transfer whose id
    /// derives from the break, so a re-run of the day finds it booked and books nothing twice.
    func autoResolve(_ run: ReconciliationRun, profile: ReconciliationProfile) async throws(ReconciliationError) {
        guard run.status == .complete, !profile.feeAutoResolveTolerance.isZero, let feeTemplate = profile.feeAccounts.first,
            (run.counts[BreakCode.feeMismatch.rawValue] ?? 0) > 0
        else { return }
        let store = ReconciliationStore(ledger: ledger)
        for record in try await store.breaks(run: run.id, openOnly: true) where record.code == .feeMismatch {
            guard let assetText = record.asset, let railFee = record.railAmount.flatMap({ UInt256(decimal: $0) }),
                let ledgerFee = record.ledgerAmount.flatMap({ UInt256(decimal: $0) })
            else { continue }
            let difference = SignedAmount(railFee, minus: ledgerFee)
            guard difference.magnitude <= profile.feeAutoResolveTolerance else { continue }
            do {
                let asset = try AssetID(assetText)
                let fees = try AccountID(feeTemplate.replacingOccurrences(of: "{asset}", with: assetText))
                let suspense = try AccountID(profile.suspenseAccount.replacingOccurrences(of: "{asset}", with: assetText))
                _ = try await ledger.createAccounts([
                    Account(id: suspense, asset: asset, code: "recon", normalSide: .debit, metadata: ["role": .string("suspense")])
                ])
                let digest = SHA256.hash(data: Array("\(record.rail)|\(record.fingerprint)".utf8)).prefix(16)
                    .map { String(format: "%02x", $0) }.joined()
                // The rail kept more (or less) than the ledger booked: the fee account takes the
                // difference, the suspense account holds it until someone explains it.
                let postings: [Posting] =
                    difference.isNegative
                    ? [.debit(suspense, difference.magnitude), .credit(fees, difference.magnitude)]
                    : [.debit(fees, difference.magnitude), .credit(suspense, difference.magnitude)]
                let transfer = NewTransfer(
                    id: try TransferID("recon:auto:\(digest)"), .post(postings), effectiveAt: record.occurredAt,
                    metadata: [
                        "reconciliation_break": .string(String(record.id)), "fingerprint": .string(record.fingerprint),
                        "rule": .string("fee_difference_within_tolerance"),
                    ])
                _ = try await store.resolve(
                    record.id,
                    note: "fee difference of \(difference) base units is within the tolerance of \(profile.feeAutoResolveTolerance): "
                        + "booked to \(suspense)", actor: actor, transfer: transfer, kind: .auto)
            } catch let error as ReconciliationError {
                throw error
            } catch {
                throw ReconciliationError(.ledger, "auto-resolution of break \(record.id): \(error)")
            }
        }
    }
}
