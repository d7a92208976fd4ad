import Foundation
import Ledger
import MPPTesting
import RailKit
import SettleTesting
import Testing

/// Runs `Interop/pympp_stripe_pays.py`: pympp 0.16.0's `stripe/charge` client (unmodified) mints a
/// shared payment token on the card mock, pays a Settle route served by `MPPMiddleware`, gets the
/// receipt, and its replayed credential gets a 403.
enum PymppStripe {
    static let client = PymppScript(
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/pympp_stripe_pays.py"),
        imports: "mpp.methods.stripe.client, httpx")

    struct Input: Encodable {
        var url: String
        var mock: String
        var apiKey: String
        var paymentMethod: String
        var networkId: String
    }

    struct Output: Decodable {
        var status: Int
        var body: String
        var cacheControl: String?
        var receipt: PymppReceipt?
        var tokens: [String]
        var replayStatus: Int?
        var replayProblem: PymppProblem?
        var replayChallenges: Int?
    }
}

@Suite(
    "stripe/charge with pympp", .timeLimit(.minutes(3)),
    .enabled(if: PymppStripe.client.enabled, "pympp is not installed (set CI to make this a failure)"))
struct StripeChargeInteropTests {
    @Test func pymppPaysWithASharedPaymentTokenAndTheCardRailBooksChargeFeeAndPayout() async throws {
        if let reason = PymppStripe.client.unavailableReason { Issue.record("pympp unavailable: \(reason)") }
        try await StripeChargeHarness.with { h in
            let output: PymppStripe.Output = try await PymppStripe.client.run(
                PymppStripe.Input(
                    url: h.app.url, mock: h.mockURL, apiKey: StripeChargeHarness.apiKey, paymentMethod: "pm_card_visa",
                    networkId: StripeChargeHarness.networkID))
            #expect(output.status == 200)
            #expect(output.body == "paid content")
            #expect(output.cacheControl == "private")
            let receipt = try #require(output.receipt)
            #expect(receipt.status == "success" && receipt.method == "stripe")
            #expect(receipt.reference.hasPrefix("pi_"))
            #expect(output.tokens.count == 1)
            // The same credential again: 403 without a challenge, so the client does not pay twice.
            #expect(output.replayStatus == 403)
            #expect(output.replayProblem?.type == "https://paymentauth.org/problems/verification-failed")
            #expect(output.replayChallenges == 0)
            #expect(h.app.servedCount == 1)

            // The processor holds one PaymentIntent: the receipt's, paid by the token, funding the merchant.
            let intents = try await h.paymentIntents()
            #expect(intents.count == 1)
            let intent = try #require(intents.first)
            #expect(intent["id"] as? String == receipt.reference)
            #expect(intent["status"] as? String == "succeeded")
            #expect(intent["amount"] as? Int == Int(StripeChargeHarness.price))
            #expect(intent["shared_payment_granted_token"] as? String == output.tokens.first)
            let metadata = intent["metadata"] as? [String: String] ?? [:]
            #expect(metadata["settle_wallet"] == h.merchant.rawValue)

            // The card rail books the charge and its fee from the processor's events.
            var report = try await h.booker.sync(h.rail, pageSize: 50)
            #expect(report.rejected.isEmpty, "\(report.rejected)")
            let transactions = try await h.mockGet("/v1/balance_transactions?limit=100")["data"] as? [[String: Any]] ?? []
            let fee = transactions.reduce(0) { $0 + ($1["fee"] as? Int ?? 0) }
            #expect(fee > 0)
            #expect(try await h.balance(h.merchant.rawValue) == String(StripeChargeHarness.price))
            #expect(try await h.balance(h.cardAccount("fees")) == String(fee))
            #expect(try await h.balance(h.cardAccount("pending")) == String(Int(StripeChargeHarness.price) - fee))
            #expect(try await h.balance(h.cardAccount("clearing")) == "0")

            // Days pass: the processor pays the net out, and the rail books the payout.
            try await h.mockPost("/_mock/clock/advance", ["seconds": String(6 * 86_400)])
            report = try await h.booker.sync(h.rail, pageSize: 50)
            #expect(report.rejected.isEmpty, "\(report.rejected)")
            let payouts = try await h.mockGet("/v1/payouts?limit=100")["data"] as? [[String: Any]] ?? []
            let paid = payouts.filter { $0["status"] as? String == "paid" }.reduce(0) { $0 + ($1["amount"] as? Int ?? 0) }
            #expect(paid == Int(StripeChargeHarness.price) - fee)
            #expect(try await h.balance(h.cardAccount("bank")) == String(paid))
            for clearing in ["clearing", "pending", "in_transit"] {
                #expect(try await h.balance(h.cardAccount(clearing)) == "0", "clearing account \(clearing) is not zero")
            }
            #expect(try await h.balance(h.cardAccount("available")) == "0")
        }
    }
}
