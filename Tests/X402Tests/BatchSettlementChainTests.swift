import DevChain
import EVM
import Foundation
import Ledger
import PostgresNIO
import Synchronization
import Testing

@testable import X402

/// The batch server against a chain that disagrees with its books: a stored channel the chain does
/// not have (a new dev chain under books that outlive it), and a payer's withdrawal that can
/// complete before a voucher could be claimed (decision 0038).
struct BatchSettlementChainTests {
    /// A clock that runs `skew` seconds ahead of the wall clock.
    final class Skew: Sendable {
        let seconds = Atomic<UInt64>(0)
        var clock: @Sendable () -> UInt64 { { [self] in UInt64(Date().timeIntervalSince1970) + seconds.load(ordering: .relaxed) } }
    }

    /// The books of a channel on an earlier chain: deposited 10,000, charged 5,000 in five calls,
    /// 2,000 of it claimed, the row just synced (so a voucher continuing it would be verified
    /// without reading the chain). The chain under the test has no such channel.
    static func oldBooks(_ b: BatchHarness, _ h: X402Harness, payer: PrivateKey, config: BatchChannelConfig) async throws {
        let id = config.channelID(in: b.domain)
        let asset = X402Harness.token.assetID
        try await b.server.createAccounts(id, config: config, merchant: h.merchant.rawValue)
        var transfers = [try BatchBookings.opening(asset, channel: id, amount: 10_000)]
        for cumulative in stride(from: 1000, through: 5000, by: 1000) {
            transfers.append(
                try BatchBookings.charge(
                    asset, channel: id, merchant: h.merchant.rawValue, amount: 1000, cumulative: EVM.UInt256(UInt64(cumulative))))
        }
        transfers.append(
            try BatchBookings.claim(asset, channel: id, receiver: h.payTo, amount: 2000, total: 2000, transaction: "0x01"))
        let signature = payer.sign(digest: BatchSettlement.voucherDigest(channelID: id, maxClaimableAmount: 5000, domain: b.domain)).bytes
        let stale = BatchChannelRecord(
            id: id, config: config, chain: BatchChannelState(balance: 10_000, totalClaimed: 2000, withdrawRequestedAt: 0, refundNonce: 0),
            charged: 5000, signedMax: 5000, signature: signature, claimed: 2000, merchantAccount: h.merchant.rawValue)
        #expect(try await b.server.store.recordDeposit(stale, oldCharged: nil, transfers: transfers))
        // Synced a moment before this server started, by the process of the earlier chain.
        let synced = b.server.started.addingTimeInterval(-1)
        try await h.ledger.client.query(
            "update settle.x402_batch_channels set synced_at = \(synced) where channel_id = \(id.hex)", logger: X402Harness.logger)
    }

    @Test func aStoredChannelTheChainDoesNotHaveStartsANewGenerationAndNothingIsBookedTwice() async throws {
        try await BatchSettlementSettlerTests.withChannel { h, b, url, payer, config in
            let id = config.channelID(in: b.domain)
            let asset = X402Harness.token.assetID
            try await Self.oldBooks(b, h, payer: payer, config: config)

            // A client that resynced from the old books continues them: not served (the chain
            // holds nothing for it), and answered with the chain's state, no voucher to resync from.
            let continued = try await X402Harness.pay(url, b.voucher(config, 6000, key: payer))
            #expect(continued.status == 402, "\(continued.body)")
            let refusal = try #require(continued.paymentRequired)
            #expect(refusal.error == X402Reason.batchCumulativeMismatch.rawValue)
            let offer = try #require(refusal.accepts.first)
            #expect(offer.extra?["channelState"]?["chargedCumulativeAmount"]?.stringValue == "0")
            #expect(offer.extra?["channelState"]?["balance"]?.stringValue == "0")
            #expect(offer.extra?["voucherState"] == nil)
            let renewed = try #require(try await b.channelRow(id))
            #expect(renewed.generation == 1 && renewed.charged == .zero && renewed.claimed == .zero)

            // A voucher alone: there is no money on this chain.
            let unfunded = try await X402Harness.pay(url, b.voucher(config, 1000, key: payer))
            #expect(unfunded.status == 402)
            #expect(unfunded.paymentRequired?.error == X402Reason.batchChannelNotFound.rawValue)

            // The payer deposits on this chain and pays from the start of the cumulative again.
            let deposited = try await X402Harness.pay(url, b.deposit(config, amount: 10_000, key: payer))
            #expect(deposited.status == 200, "\(deposited.body)")
            #expect(deposited.paymentResponse?.extra?["channelState"]?["chargedCumulativeAmount"]?.stringValue == "1000")
            #expect(try await X402Harness.pay(url, b.voucher(config, 2000, key: payer)).status == 200)

            // The new generation has accounts and charges of its own; the old books are untouched.
            let clearing = try await b.balance(try BatchBookings.clearing(asset, id, generation: 1))
            #expect(clearing.debits == Ledger.UInt256(10_000) && clearing.credits == .zero)
            let escrow = try await b.balance(try BatchBookings.escrow(asset, id, generation: 1))
            #expect(escrow.credits == Ledger.UInt256(10_000) && escrow.debits == Ledger.UInt256(2000))
            let oldClearing = try await b.balance(try BatchBookings.clearing(asset, id))
            #expect(oldClearing.debits == Ledger.UInt256(10_000) && oldClearing.credits == Ledger.UInt256(2000))
            let oldEscrow = try await b.balance(try BatchBookings.escrow(asset, id))
            #expect(oldEscrow.debits == Ledger.UInt256(5000))

            // Claimed on this chain: what this chain's vouchers charged, no more.
            let settler = X402BatchSettler(server: b.server, logger: X402Harness.logger)
            #expect(try await settler.round(force: true) == 1)
            #expect(try await h.tokenBalance(h.payTo) == 2000)
            let claimedClearing = try await b.balance(try BatchBookings.clearing(asset, id, generation: 1))
            #expect(claimedClearing.credits == Ledger.UInt256(2000))
            #expect(try await b.channelRow(id)?.generation == 1)
        }
    }

    @Test func aDepositOnAStoredChannelTheChainDoesNotHaveIsTakenFromTheStart() async throws {
        try await BatchSettlementSettlerTests.withChannel { h, b, url, payer, config in
            let id = config.channelID(in: b.domain)
            try await Self.oldBooks(b, h, payer: payer, config: config)
            // A new client (its state lost with the old chain) opens with a deposit and the first
            // call's voucher: taken, not corrected to the old books' cumulative.
            let deposited = try await X402Harness.pay(url, b.deposit(config, amount: 10_000, key: payer))
            #expect(deposited.status == 200, "\(deposited.body)")
            let row = try #require(try await b.channelRow(id))
            #expect(row.generation == 1 && row.charged == 1000 && row.chain.balance == 10_000)
            #expect(try await b.transfers(prefix: "x402:batch:deposit:", mentioning: id.hex) == 1)
        }
    }

    @Test func vouchersOnAChannelWhoseWithdrawalCanCompleteAreRefusedAndItsChargesClaimed() async throws {
        let skew = Skew()
        try await X402Harness.with { h in
            let b = try await BatchHarness(h, clock: skew.clock)
            let url = try await b.start() + "/metered"
            let payer = try await h.fundedPayer()
            let config = b.config(payer: payer)
            let id = config.channelID(in: b.domain)
            #expect(try await X402Harness.pay(url, b.deposit(config, amount: 10_000, key: payer)).status == 200)
            #expect(try await X402Harness.pay(url, b.voucher(config, 2000, key: payer)).status == 200)

            #expect(try await b.initiateWithdraw(config, amount: 8000, payer: payer))
            // The settler reads the withdrawal; the delay (900 s) has not run: vouchers are still taken.
            try await b.server.refreshUnclaimed(receiver: h.payTo, olderThan: .zero)
            #expect(try await X402Harness.pay(url, b.voucher(config, 3000, key: payer)).status == 200)

            // Within the claim margin of the withdrawal's completion: refused, nothing charged.
            skew.seconds.store(config.withdrawDelay - 30, ordering: .relaxed)
            let late = try await X402Harness.pay(url, b.voucher(config, 4000, key: payer))
            #expect(late.status == 402)
            #expect(late.paymentRequired?.error == X402Reason.batchCumulativeExceedsBalance.rawValue)
            // The facilitator's own /verify, which reads the chain: the same.
            let verified = try await b.server.facilitator.verify(b.voucher(config, 4000, key: payer), requirements: b.requirements)
            #expect(verified.invalidReason == X402Reason.batchCumulativeExceedsBalance)
            #expect(try await b.chargesBooked(id) == Ledger.UInt256(3000))

            // The settler claims the channel before the payer can finalize: thresholds far away.
            let settler = X402BatchSettler(
                server: b.server, configuration: .init(amount: 1_000_000_000, age: .seconds(3600), refreshAge: .zero),
                logger: X402Harness.logger)
            #expect(try await settler.round() == 1)
            #expect(try await h.tokenBalance(h.payTo) == 3000)
        }
    }
}
