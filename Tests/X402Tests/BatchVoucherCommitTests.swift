import EVM
import Foundation
import Ledger
import Testing

@testable import X402

/// Vouchers' charges in group commit: a batch of channels in one statement, and each voucher
/// answered alone when one of them cannot be committed.
struct BatchVoucherCommitTests {
    /// `count` channels stored with 10,000,000 deposited and nothing charged (no chain needed: the
    /// commit is the store's alone).
    static func channels(_ b: BatchHarness, _ h: X402Harness, count: Int = 3) async throws -> [(id: Hash32, key: PrivateKey)] {
        var channels: [(Hash32, PrivateKey)] = []
        for _ in 0..<count {
            let key = PrivateKey.random()
            let config = b.config(payer: key)
            let id = config.channelID(in: b.domain)
            try await b.server.createAccounts(id, config: config, merchant: h.merchant.rawValue)
            let record = BatchChannelRecord(
                id: id, config: config,
                chain: BatchChannelState(balance: 10_000_000, totalClaimed: 0, withdrawRequestedAt: 0, refundNonce: 0),
                charged: 0, signedMax: 0, signature: [], claimed: 0, merchantAccount: h.merchant.rawValue)
            let opening = try BatchBookings.opening(X402Harness.token.assetID, channel: id, amount: 10_000_000)
            #expect(try await b.server.store.recordDeposit(record, oldCharged: nil, transfers: [opening]))
            channels.append((id, key))
        }
        return channels
    }

    /// The commit of a voucher of `key` on `id` from `old` to `new`.
    static func commit(_ b: BatchHarness, _ h: X402Harness, _ id: Hash32, _ key: PrivateKey, from old: EVM.UInt256, to new: EVM.UInt256)
        throws -> X402BatchStore.VoucherCommit
    {
        let signature = key.sign(digest: BatchSettlement.voucherDigest(channelID: id, maxClaimableAmount: new, domain: b.domain)).bytes
        return X402BatchStore.VoucherCommit(
            guarded: BatchVoucherGuard(channel: id, oldCharged: old, charged: new, signedMax: new, signature: signature), generation: 0,
            charge: try BatchBookings.charge(
                X402Harness.token.assetID, channel: id, merchant: h.merchant.rawValue, amount: new - old, cumulative: new))
    }

    @Test func aBatchCommitsItsChannelsTogetherAndAStaleOneAloneIsRefused() async throws {
        try await X402Harness.with { h in
            let b = try await BatchHarness(h)
            let store = b.server.store
            let c = try await Self.channels(b, h)
            // One statement for the three channels and their charges.
            let first = try c.map { try Self.commit(b, h, $0.id, $0.key, from: 0, to: 1000) }
            _ = try await h.ledger.post(first.map(\.charge), guardedBy: BatchVouchersGuard(commits: first))
            #expect(try await b.channelRow(c[2].id)?.charged == 1000)

            // The second channel's voucher was checked against a cumulative it no longer has:
            // the batch statement writes nothing, and each voucher is answered alone.
            let second = [
                try Self.commit(b, h, c[0].id, c[0].key, from: 1000, to: 2000),
                try Self.commit(b, h, c[1].id, c[1].key, from: 0, to: 1000),
                try Self.commit(b, h, c[2].id, c[2].key, from: 1000, to: 2000),
            ]
            let refused = await #expect(throws: LedgerError.self) {
                try await h.ledger.post(second.map(\.charge), guardedBy: BatchVouchersGuard(commits: second))
            }
            #expect(refused?.code == .guardFailed)
            #expect(try await b.chargesBooked(c[0].id) == Ledger.UInt256(1000), "nothing of the batch is written")
            #expect(try await store.commit(second).map { try $0.get() } == [true, false, true])
            #expect(try await b.chargesBooked(c[0].id) == Ledger.UInt256(2000))
            #expect(try await b.chargesBooked(c[1].id) == Ledger.UInt256(1000))
            #expect(try await b.chargesBooked(c[2].id) == Ledger.UInt256(2000))
            #expect(try await b.channelRow(c[1].id)?.charged == 1000)

            // Through the queue, at once: each answered, each booked once.
            async let a = store.commitVoucher(try Self.commit(b, h, c[0].id, c[0].key, from: 2000, to: 3000))
            async let d = store.commitVoucher(try Self.commit(b, h, c[1].id, c[1].key, from: 1000, to: 2000))
            async let e = store.commitVoucher(try Self.commit(b, h, c[2].id, c[2].key, from: 2000, to: 3000))
            #expect(try await [a, d, e] == [true, true, true])
            #expect(try await b.channelRow(c[0].id)?.charged == 3000)
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(8000))
        }
    }

    /// 200 channels' vouchers at once, alternately each in its own statement (the path before
    /// group commit) and through the queue; prints both rates (decision 0038's figures).
    @Test func twoHundredChannelsChargedAtOnceAreEachBookedOnce() async throws {
        try await X402Harness.with { h in
            let b = try await BatchHarness(h)
            let store = b.server.store
            let channels = try await Self.channels(b, h, count: 200)
            for round in 0..<4 {
                let old = EVM.UInt256(UInt64(round * 1000))
                let commits = try channels.map { try Self.commit(b, h, $0.id, $0.key, from: old, to: old + 1000) }
                let alone = round % 2 == 0
                let start = ContinuousClock.now
                let committed = await withTaskGroup(of: Bool.self) { group in
                    for commit in commits {
                        group.addTask {
                            if alone { return (try? await store.ledger.post([commit.charge], guardedBy: commit.guarded)) != nil }
                            return (try? await store.commitVoucher(commit)) == true
                        }
                    }
                    return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                print(
                    "x402 batch vouchers, 200 channels at once, \(alone ? "one statement each" : "group commit"): \(Int(200 / seconds))/s")
                #expect(committed == 200)
            }
            #expect(try await b.channelRow(channels[199].id)?.charged == 4000)
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(800_000))
        }
    }
}
