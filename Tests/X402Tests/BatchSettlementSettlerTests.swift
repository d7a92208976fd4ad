import DevChain
import EVM
import Foundation
import Ledger
import Testing

@testable import X402

/// The settler's thresholds and a payer's withdrawal, and refunds through the route, with
/// payloads signed in Swift.
struct BatchSettlementSettlerTests {
    /// A batch route (`url` is its `/metered`) and the channel config of a funded payer to it.
    static func withChannel(
        _ body: (X402Harness, BatchHarness, _ url: String, _ payer: PrivateKey, BatchChannelConfig) async throws -> Void
    ) async throws {
        try await X402Harness.with { h in
            let b = try await BatchHarness(h)
            let url = try await b.start() + "/metered"
            let payer = try await h.fundedPayer()
            try await body(h, b, url, payer, b.config(payer: payer))
        }
    }

    @Test func aPayersWithdrawalGetsTheChannelClaimedBeforeAnyThreshold() async throws {
        try await X402Harness.with { h in
            let b = try await BatchHarness(h)
            let url = try await b.start() + "/metered"
            let payer = try await h.fundedPayer()
            let config = b.config(payer: payer)
            let id = config.channelID(in: b.domain)
            #expect(try await X402Harness.pay(url, b.deposit(config, amount: 10_000, key: payer)).status == 200)
            #expect(try await X402Harness.pay(url, b.voucher(config, 2000, key: payer)).status == 200)
            // Thresholds far away: nothing is due.
            let settler = X402BatchSettler(
                server: b.server, configuration: .init(amount: 1_000_000_000, age: .seconds(3600), refreshAge: .zero),
                logger: X402Harness.logger)
            #expect(try await settler.round() == 0)
            #expect(try await b.channelRow(id)?.claimed == .zero)

            // The payer starts leaving with what is not claimed; the settler sees it and claims first.
            #expect(try await b.initiateWithdraw(config, amount: 8000, payer: payer))

            #expect(try await settler.round() == 1)
            let row = try #require(try await b.channelRow(id))
            #expect(row.claimed == 2000 && row.chain.totalClaimed == 2000)
            #expect(row.chain.withdrawRequestedAt > 0)
            #expect(try await h.tokenBalance(h.payTo) == 2000)
            let claimed = try await b.balance(try BatchBookings.claimed(X402Harness.token.assetID, h.payTo))
            #expect(claimed.debits == Ledger.UInt256(2000) && claimed.credits == Ledger.UInt256(2000))
        }
    }

    @Test func aRefundThroughTheRouteReturnsTheRestAndClearsTheChannel() async throws {
        try await Self.withChannel { h, b, url, payer, config in
            let before = try await h.tokenBalance(payer.address)
            let id = config.channelID(in: b.domain)
            let opening = b.deposit(config, amount: 10_000, key: payer)
            #expect(try await X402Harness.pay(url, opening).status == 200)
            #expect(try await X402Harness.pay(url, b.voucher(config, 2000, key: payer)).status == 200)
            // The opening deposit again: off the cumulative rule, and booked once.
            #expect(try await X402Harness.pay(url, opening).paymentRequired?.error == X402Reason.batchCumulativeMismatch.rawValue)
            #expect(try await b.transfers(prefix: "x402:batch:deposit:", mentioning: id.hex) == 1)

            func refund(_ amount: String?) -> PaymentPayload {
                var payload: [String: JSONValue] = [
                    "type": .string("refund"), "channelConfig": BatchHarness.configJSON(config),
                    "voucher": b.voucherJSON(config, 2000, key: payer),
                ]
                payload["amount"] = amount.map { .string($0) }
                return PaymentPayload(accepted: b.requirements, payload: .object(payload))
            }
            let tooMuch = try await X402Harness.pay(url, refund("8001"))
            #expect(tooMuch.paymentRequired?.error == X402Reason.batchRefundNoBalance.rawValue)
            let refunded = try await X402Harness.pay(url, refund(nil))
            #expect(refunded.status == 200, "\(refunded.body)")
            #expect(refunded.body.contains("Refund acknowledged"))
            #expect(refunded.paymentResponse?.success == true)
            #expect(refunded.paymentResponse?.amount == "8000")
            let nothingLeft = try await X402Harness.pay(url, refund(nil))
            #expect(nothingLeft.paymentRequired?.error == X402Reason.batchRefundNoBalance.rawValue)

            // The refund claimed the charges in the same transaction: sweep them.
            #expect(try await b.server.sweep(receiver: h.payTo).success)
            #expect(try await h.tokenBalance(payer.address) == before - 2000)
            #expect(try await h.tokenBalance(h.payTo) == 2000)
            let asset = X402Harness.token.assetID
            let clearing = try await b.balance(try BatchBookings.clearing(asset, id))
            #expect(clearing.debits == Ledger.UInt256(10_000) && clearing.credits == Ledger.UInt256(10_000))
            let escrow = try await b.balance(try BatchBookings.escrow(asset, id))
            #expect(escrow.debits == Ledger.UInt256(10_000) && escrow.credits == Ledger.UInt256(10_000))
            #expect(try await b.chargesBooked(id) == Ledger.UInt256(2000))
        }
    }

    @Test func aChannelFundedWithoutThisServerIsBookedFromItsBalanceWhenItsFirstVoucherComes() async throws {
        try await Self.withChannel { h, b, url, payer, config in
            let id = config.channelID(in: b.domain)
            // Deposited through the facilitator alone: on chain, unknown to the server.
            let deposited = try await b.server.facilitator.settle(
                b.deposit(config, amount: 10_000, key: payer), requirements: b.requirements)
            #expect(deposited.success, "\(deposited)")
            #expect(try await b.channelRow(id) == nil)

            #expect(try await X402Harness.pay(url, b.voucher(config, 1000, key: payer)).status == 200)
            #expect(try await X402Harness.pay(url, b.voucher(config, 2000, key: payer)).status == 200)
            let row = try #require(try await b.channelRow(id))
            #expect(row.charged == 2000 && row.chain.balance == 10_000)
            let asset = X402Harness.token.assetID
            #expect(try await b.transfers(prefix: "x402:batch:opening:", mentioning: id.hex) == 1)
            #expect(try await b.chargesBooked(id) == Ledger.UInt256(2000))

            let settler = X402BatchSettler(server: b.server, logger: X402Harness.logger)
            #expect(try await settler.round(force: true) == 1)
            #expect(try await h.tokenBalance(h.payTo) == 2000)
            let clearing = try await b.balance(try BatchBookings.clearing(asset, id))
            #expect(clearing.debits == Ledger.UInt256(10_000) && clearing.credits == Ledger.UInt256(2000))
            let escrow = try await b.balance(try BatchBookings.escrow(asset, id))
            #expect(escrow.credits == Ledger.UInt256(10_000) && escrow.debits == Ledger.UInt256(2000))
        }
    }

    @Test func aDepositOnAChannelFundedWithoutThisServerBooksWhatItHeldFirst() async throws {
        try await Self.withChannel { h, b, url, payer, config in
            let id = config.channelID(in: b.domain)
            // A deposit mined whose answer the server never recorded (its settle timed out, say).
            #expect(
                try await b.server.facilitator.settle(b.deposit(config, amount: 10_000, key: payer), requirements: b.requirements).success)
            let topUp = try await X402Harness.pay(url, b.deposit(config, amount: 5000, key: payer))
            #expect(topUp.status == 200, "\(topUp.body)")
            #expect(topUp.paymentResponse?.extra?["channelState"]?["balance"]?.stringValue == "15000")
            let asset = X402Harness.token.assetID
            let clearing = try await b.balance(try BatchBookings.clearing(asset, id))
            #expect(clearing.debits == Ledger.UInt256(15_000))
            let escrow = try await b.balance(try BatchBookings.escrow(asset, id))
            #expect(escrow.credits == Ledger.UInt256(15_000) && escrow.debits == Ledger.UInt256(1000))
            #expect(try await b.transfers(prefix: "x402:batch:opening:", mentioning: id.hex) == 1)
            #expect(try await b.transfers(prefix: "x402:batch:deposit:", mentioning: id.hex) == 1)
        }
    }
}
