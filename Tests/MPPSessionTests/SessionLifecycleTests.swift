import EVM
import Foundation
import Ledger
import MPP
import RailKit
import Testing

@testable import MPPSession

/// `tempo/session` end to end over HTTP: open, vouchers, top-up and close on the dev chain's
/// escrows, the receipts and headers, and the ledger after the Tempo rail books the chain.
@Suite("MPP sessions", .serialized)
struct SessionLifecycleTests {
    typealias H = SessionHarness

    /// The challenge advertises v2; a client that only speaks v1 still pays on the v1 escrow.
    @Test func aV2ServerAcceptsV1Channels() async throws {
        try await H.with { h in
            let url = try await h.startServer(h.method(.v2)) + "/paid"
            var client = try await SessionClient.connect(url, payer: try await h.fundedPayer(), version: .v1)
            #expect(client.escrow == TempoChannelEscrow.v1ModeratoAddress)
            let open = client.openTransaction(deposit: 5_000)
            let opened = try await client.pay(client.openPayload(open, voucher: 1_000))
            #expect(opened.status == 200 && opened.receipt?.reference == client.channelID.hex, "\(opened.body)")
            let paid = try await client.pay(client.voucherPayload(2_000))
            #expect(paid.status == 200 && paid.receipt?.extensions["spent"] == .string("2000"), "\(paid.body)")
            #expect(try await h.balance(h.merchant).creditsPosted.description == "2000")
        }
    }

    @Test(arguments: [TempoChannelEscrow.v2, .v1])
    func openVouchersTopUpAndClose(_ version: TempoChannelEscrow) async throws {
        try await H.with { h in
            // The server sponsors the fee of the client's open transaction.
            let url = try await h.startServer(h.method(version, feePayer: h.payee)) + "/paid"
            let payer = try await h.fundedPayer()
            var client = try await SessionClient.connect(url, payer: payer, version: version)
            let request = try client.challenge.requestObject()
            #expect(request["amount"] == .string("1000") && request["unitType"] == .string("request"))
            #expect(request["methodDetails"]?.objectValue?["sessionProtocol"] == .string(version.rawValue))

            let payerBefore = try await h.tokenBalance(payer.address)
            let open = client.openTransaction(deposit: 10_000, sponsored: true)
            let opened = try await client.pay(client.openPayload(open))
            #expect(opened.status == 204, "\(opened.body)")
            #expect(opened.receipt?.reference == client.channelID.hex)
            #expect(opened.receipt?.extensions["acceptedCumulative"] == .string("0"))
            #expect(opened.headers["payment-session"] == client.channelID.hex)
            // Sponsored: the payer's tokens moved into the escrow, and it paid no fee.
            #expect(try await h.tokenBalance(payer.address) == payerBefore - 10_000)

            for amount: EVM.UInt256 in [1_000, 2_000, 3_000] {
                let paid = try await client.pay(client.voucherPayload(amount))
                #expect(paid.status == 200 && paid.body == "paid content", "\(paid.status) \(paid.body)")
                let receipt = try #require(paid.receipt)
                #expect(receipt.method == "tempo" && receipt.reference == client.channelID.hex)
                #expect(receipt.extensions["acceptedCumulative"] == .string(amount.description))
                #expect(receipt.extensions["spent"] == .string(amount.description))
                #expect(receipt.extensions["challengeId"] == .string(client.challenge.id))
                #expect(paid.headers["cache-control"] == "private")
                let snapshot = try #require(paid.headers["payment-session-snapshot"])
                let state = try Base64URL.decodeJSONObject(snapshot)
                #expect(state["deposit"] == .string("10000") && state["spent"] == .string(amount.description))
            }
            // The same voucher again is a retry: served, not charged.
            let retry = try await client.pay(client.voucherPayload(3_000))
            #expect(retry.status == 200 && retry.receipt?.extensions["spent"] == .string("3000"))

            let topUp = try await client.pay(client.topUpPayload(5_000, sponsored: true))
            #expect(topUp.status == 204, "\(topUp.body)")
            let afterTopUp = try Base64URL.decodeJSONObject(try #require(topUp.headers["payment-session-snapshot"]))
            #expect(afterTopUp["deposit"] == .string("15000"))

            let close = try await client.pay(client.closePayload(3_000))
            #expect(close.status == 204, "\(close.body)")
            let txHash = try #require(close.receipt?.extensions["txHash"]?.stringValue)
            #expect(txHash.count == 66)
            // The payee got what was spent; the payer got the rest of its deposit back.
            #expect(try await h.tokenBalance(payer.address) == payerBefore - 3_000)
            let closed = try await client.pay(client.voucherPayload(4_000))
            #expect(closed.status == 410 && closed.problemType?.hasSuffix("/session/channel-finalized") == true, "\(closed.body)")
            #expect(closed.headers["www-authenticate"] == nil)

            // Revenue is the sum of the charges; once the rail books the chain every clearing account is zero.
            #expect(try await h.balance(h.merchant).creditsPosted.description == "3000")
            let report = try await h.booker.sync(h.rail)
            #expect(report.rejected.isEmpty, "\(report)")
            for account in ["escrow", "vouchers"] {
                let balance = try await h.balance(AccountID("tempo:\(h.asset.rawValue):\(account):\(client.channelID.hex)"))
                #expect(balance.posted.description == "0" && !balance.debitsPosted.isZero, "\(account): \(balance)")
            }
            #expect(try await h.balance(AccountID("tempo:\(h.asset.rawValue):payer:\(payer.address.lowercased)")).posted.description == "0")
            #expect(try await h.ledger.verify().passed)
        }
    }
}
