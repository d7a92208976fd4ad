import DevChain
import EVM
import Foundation
import Ledger
import SettleTesting
import Testing

@testable import X402

/// x402's official batch-settlement client (Python, unmodified) pays a Settle route through the
/// ERC-3009 deposit collector, and one through the Permit2 deposit collector, on the dev chain,
/// with Settle's facilitator, bookings and claims.
@Suite(.enabled(if: X402Python.enabled, "the x402 Python client is not installed (set CI to make this a failure)"))
struct BatchSettlementClientTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Interop/x402_batch_client_pays.py")

    @Test func officialClientPaysAThousandCallsThenClaimsSettleAndTheRestIsRefunded() async throws {
        if let reason = X402Python.unavailableReason { Issue.record("x402 Python client unavailable: \(reason)") }
        let python = try #require(X402Python.python)
        let calls = 1000
        try await X402Harness.with { h in
            // One top-up along the way: the first deposit covers 600 calls.
            let batch = try await BatchHarness(h, price: 1000, minDeposit: 600_000)
            let url = try await batch.start() + "/metered"
            let payer = try await h.fundedPayer(tokens: 5_000_000)
            let payerBefore = try await h.tokenBalance(payer.address)
            // Claims and sweeps run beside the vouchers, as the settler does.
            let settler = X402BatchSettler(
                server: batch.server, configuration: .init(interval: .milliseconds(200), amount: 50_000, age: .seconds(1)),
                logger: X402Harness.logger)
            let settling = Task { try await settler.run() }
            let data = try await X402Python.runOffPool(python, [Self.script.path, url, Hex.encode(payer.bytes), h.chainURL, "\(calls)"])
            settling.cancel()
            _ = await settling.result
            let output = try JSONDecoder().decode(JSONValue.self, from: data)

            if case .number(let seconds)? = output["elapsedSeconds"] {
                print("x402 batch-settlement: \(calls) calls paid by the official client in \(seconds) s")
            }
            #expect(output["unpaidStatus"]?.int == 402)
            #expect(output["offer"]?["scheme"]?.stringValue == "batch-settlement")
            #expect(
                output["offer"]?["extra"]?["receiverAuthorizer"]?.stringValue == batch.configuration.receiverAuthorizer.address.checksummed)
            #expect(output["offer"]?["extra"]?["withdrawDelay"]?.int == 900)
            #expect(output["failures"]?.arrayValue?.isEmpty == true, "\(output["failures"] ?? .null)")
            #expect(output["statuses"]?["200"]?.int == calls, "\(output["statuses"] ?? .null)")
            let first = output["first"]?.arrayValue ?? []
            // The deposit's answer carries its transaction; a voucher's none.
            #expect(first.first?["transaction"]?.stringValue?.count == 66, "\(first)")
            #expect(first.first?["amount"]?.stringValue == "600000")
            #expect(first.last?["transaction"]?.stringValue == "")
            #expect(first.last?["extra"]?["chargedAmount"]?.stringValue == "1000")
            #expect(output["last"]?["extra"]?["channelState"]?["chargedCumulativeAmount"]?.stringValue == "\(calls * 1000)")
            // A client without local state resyncs from the corrective 402 and pays.
            #expect(output["resyncedStatus"]?.int == 200)
            #expect(output["resynced"]?["extra"]?["channelState"]?["chargedCumulativeAmount"]?.stringValue == "\((calls + 1) * 1000)")
            let refund = try #require(output["refund"])
            #expect(refund["success"]?.boolValue == true, "\(refund)")
            let charged = EVM.UInt256(UInt64((calls + 1) * 1000))
            let deposited = EVM.UInt256(1_200_000)
            #expect(refund["amount"]?.stringValue == (deposited - charged).description, "\(refund)")

            // What is left claimed is swept; nothing is left to claim.
            try await settler.round(force: true)
            let id = batch.config(payer: payer).channelID(in: batch.domain)
            let row = try #require(try await batch.channelRow(id))
            #expect(row.charged == charged)
            #expect(row.claimed == charged && row.chain.totalClaimed == charged)
            #expect(row.chain.balance == charged)

            // On chain: the receiver got what was charged, the payer the rest back.
            #expect(try await h.tokenBalance(h.payTo) == charged)
            #expect(try await h.tokenBalance(payer.address) == payerBefore - charged)
            #expect(try await h.tokenBalance(BatchSettlement.address) == .zero)

            // In the ledger: the charges equal what was settled; the channel's accounts are zero.
            let asset = X402Harness.token.assetID
            let ledgerCharged = try BatchBookings.ledgerAmount(charged)
            #expect(try await batch.chargesBooked(id) == ledgerCharged)
            #expect(try await h.merchantBalance().posted == ledgerCharged)
            let clearing = try await batch.balance(try BatchBookings.clearing(asset, id))
            #expect(clearing.debits == (try BatchBookings.ledgerAmount(deposited)) && clearing.credits == clearing.debits)
            let escrow = try await batch.balance(try BatchBookings.escrow(asset, id))
            #expect(escrow.credits == clearing.debits && escrow.debits == escrow.credits)
            let claimed = try await batch.balance(try BatchBookings.claimed(asset, h.payTo))
            #expect(claimed.debits == ledgerCharged && claimed.credits == ledgerCharged)
            #expect(try await batch.balance(try BatchBookings.incoming(asset, h.payTo)).debits == ledgerCharged)
            // The settler claimed and swept while the vouchers came, not only the refund at the end.
            #expect(try await batch.transfers(prefix: "x402:batch:claim:", mentioning: id.hex) >= 2)
            #expect(try await batch.transfers(prefix: "x402:batch:settle:", mentioning: h.payTo.lowercased) >= 2)
            #expect(try await batch.transfers(prefix: "x402:batch:deposit:", mentioning: id.hex) == 2)

            // A refund at a nonce already used is refused by the contract's simulation.
            let stale = PaymentPayload(
                accepted: batch.requirements,
                payload: .object([
                    "type": .string("refund"), "channelConfig": BatchHarness.configJSON(batch.config(payer: payer)),
                    "voucher": batch.voucherJSON(batch.config(payer: payer), charged, key: payer), "amount": .string("1"),
                    "refundNonce": .string("0"), "claims": .array([]),
                ]))
            let refused = try await batch.server.facilitator.settle(stale, requirements: batch.requirements)
            #expect(!refused.success)
            #expect(refused.errorReason == .batchRefundNoBalance || refused.errorReason == .batchRefundSimulationFailed, "\(refused)")
        }
    }
    @Test func officialClientDepositsThroughPermit2OnARouteThatAsksForIt() async throws {
        if let reason = X402Python.unavailableReason { Issue.record("x402 Python client unavailable: \(reason)") }
        let python = try #require(X402Python.python)
        let calls = 30
        try await X402Harness.with { h in
            let batch = try await BatchHarness(h, price: 1000, minDeposit: 20_000, depositMethod: .permit2)
            let url = try await batch.start() + "/metered"
            let payer = try await h.fundedPayer(tokens: 5_000_000)
            try await UptoTests.approvePermit2(h, payer)
            let payerBefore = try await h.tokenBalance(payer.address)
            let data = try await X402Python.runOffPool(python, [Self.script.path, url, Hex.encode(payer.bytes), h.chainURL, "\(calls)"])
            let output = try JSONDecoder().decode(JSONValue.self, from: data)

            #expect(output["offer"]?["extra"]?["assetTransferMethod"]?.stringValue == "permit2")
            #expect(output["failures"]?.arrayValue?.isEmpty == true, "\(output["failures"] ?? .null)")
            #expect(output["statuses"]?["200"]?.int == calls, "\(output["statuses"] ?? .null)")
            let first = output["first"]?.arrayValue ?? []
            #expect(first.first?["transaction"]?.stringValue?.count == 66, "\(first)")
            let refund = try #require(output["refund"])
            #expect(refund["success"]?.boolValue == true, "\(refund)")

            // Permit2 moved the deposits (the channel's id is their witness); the refund returned the rest.
            let id = batch.config(payer: payer).channelID(in: batch.domain)
            let charged = EVM.UInt256(UInt64((calls + 1) * 1000))
            #expect(try await h.tokenBalance(payer.address) == payerBefore - charged)
            #expect(try await batch.transfers(prefix: "x402:batch:deposit:", mentioning: id.hex) >= 1)
            #expect(try await batch.chargesBooked(id) == (try BatchBookings.ledgerAmount(charged)))
        }
    }
}
