import Foundation
import Ledger
import MPP
import MPPTesting
import RailKit
import SettleTesting
import Testing

/// Tokens and cards the processor (or the seller) refuses: each gets the spec's status and problem
/// with a fresh challenge, nothing is served and nothing is booked to the merchant.
@Suite("stripe/charge refusals", .timeLimit(.minutes(3)))
struct StripeChargeRefusalTests {
    @Test func badTokensAndDeclinedCardsGetTheSpecsProblemAndBookNothing() async throws {
        try await StripeChargeHarness.with { h in
            let now = Int64(Date().timeIntervalSince1970)
            let used = try await h.mintToken()
            try await h.mockPost(
                "/v1/payment_intents",
                [
                    "amount": "100", "currency": "usd", "confirm": "true", "shared_payment_granted_token": used,
                    "payment_method_types[0]": "card",
                ])
            let revoked = try await h.mintToken()
            try await h.mockPost("/v1/test_helpers/shared_payment/granted_tokens/\(revoked)/revoke")

            let cases: [(name: String, spt: MPP.JSONValue, slug: String)] = [
                ("used", .string(used), "verification-failed"),
                ("expired", .string(try await h.mintToken(expiresAt: now - 60)), "verification-failed"),
                ("revoked", .string(revoked), "verification-failed"),
                ("foreign", .string(try await h.mintToken(networkID: "profile_another_seller")), "verification-failed"),
                ("under its limit", .string(try await h.mintToken(maxAmount: StripeChargeHarness.price - 1)), "verification-failed"),
                ("in another currency", .string(try await h.mintToken(currency: "eur")), "verification-failed"),
                ("unknown", .string("spt_settleTestsUnknown0000"), "verification-failed"),
                ("declined card", .string(try await h.mintToken(paymentMethod: "pm_card_visa_chargeDeclined")), "verification-failed"),
                (
                    "insufficient funds",
                    .string(try await h.mintToken(paymentMethod: "pm_card_visa_chargeDeclinedInsufficientFunds")), "verification-failed"
                ),
                ("3-D Secure", .string(try await h.mintToken(paymentMethod: "pm_card_threeDSecure2Required")), "payment-action-required"),
                ("not a token", .integer(42), "invalid-payload"),
                ("not a token id", .string("pi_123"), "invalid-payload"),
            ]
            for (name, spt, slug) in cases {
                let answer = try await h.app.pay(try await h.app.challenge(), ["spt": spt])
                #expect(answer.status == 402, "\(name): \(answer.status) \(answer.body)")
                #expect(answer.problemSlug == slug, "\(name): \(answer.body)")
                #expect(!answer.challenges.isEmpty, "\(name): a 402 carries fresh challenges")
                #expect(answer.receipt == nil, "\(name)")
            }
            #expect(h.app.servedCount == 0)

            // Nothing captured for the merchant: the processor's intents that name it did not succeed,
            // and the card rail books nothing to it.
            let intents = try await h.paymentIntents()
            let merchants = intents.filter { ($0["metadata"] as? [String: String])?["settle_wallet"] == h.merchant.rawValue }
            let captured = merchants.filter { $0["status"] as? String == "succeeded" }
            #expect(captured.isEmpty, "\(captured)")
            #expect(!merchants.isEmpty, "the declined cards reached the processor")
            let report = try await h.booker.sync(h.rail, pageSize: 50)
            #expect(report.rejected.isEmpty, "\(report.rejected)")
            #expect(try await h.balance(h.merchant.rawValue) == "0")
        }
    }

    @Test(arguments: ["succeed", "fail"])
    func theSameCredentialAfterTheBuyersActionCompletesThatIntent(outcome: String) async throws {
        try await StripeChargeHarness.with { h in
            let spt = try await h.mintToken(paymentMethod: "pm_card_threeDSecure2Required")
            let challenge = try await h.app.challenge()
            let first = try await h.app.pay(challenge, ["spt": .string(spt)])
            #expect(first.status == 402 && first.problemSlug == "payment-action-required", "\(first.body)")
            // Before the buyer acts, the same credential is the same answer, not a replay.
            let early = try await h.app.pay(challenge, ["spt": .string(spt)])
            #expect(early.status == 402 && early.problemSlug == "payment-action-required", "\(early.body)")
            let intents = try await h.paymentIntents().filter { ($0["status"] as? String) == "requires_action" }
            #expect(intents.count == 1)
            let intent = try #require(intents.first?["id"] as? String)
            _ = try await h.mockPost("/_mock/payment_intents/\(intent)/authenticate", ["outcome": outcome])

            let after = try await h.app.pay(challenge, ["spt": .string(spt)])
            if outcome == "succeed" {
                #expect(after.status == 200 && after.body == "paid content", "\(after.body)")
                #expect(after.receipt?.reference == intent)
                #expect(h.app.servedCount == 1)
                let again = try await h.app.pay(challenge, ["spt": .string(spt)])
                #expect(again.status == 403, "settled: now a replay")
            } else {
                #expect(after.status == 402 && after.problemSlug == "verification-failed", "\(after.body)")
                #expect(h.app.servedCount == 0)
            }
            // One intent for the credential, however often it came.
            #expect(try await h.paymentIntents().count == 1)
            // Another challenge's credential with the same token is a replay, whatever the outcome.
            if outcome == "succeed" {
                let other = try await h.app.pay(try await h.app.challenge(), ["spt": .string(spt)])
                #expect(other.status == 403)
            }
        }
    }

    @Test func aRefusedTokenLeavesTheChallengePayableWithAnotherToken() async throws {
        try await StripeChargeHarness.with { h in
            let declined = try await h.mintToken(paymentMethod: "pm_card_visa_chargeDeclined")
            let challenge = try await h.app.challenge()
            func pay(_ spt: String) async throws -> MPPTestAnswer {
                try await h.app.pay(challenge, ["spt": .string(spt)])
            }
            let refused = try await pay(declined)
            #expect(refused.status == 402 && refused.problemSlug == "verification-failed")
            // Nothing moved, so the reservation was given back: the same challenge pays with a good card.
            let paid = try await pay(try await h.mintToken())
            #expect(paid.status == 200, "\(paid.body)")
            #expect(paid.body == "paid content")
            let receipt = try #require(paid.receipt)
            #expect(receipt.method == "stripe" && receipt.reference.hasPrefix("pi_"))
            // The challenge is spent now: a third token for it is refused without a new charge.
            let again = try await pay(try await h.mintToken())
            #expect(again.status == 403)
            #expect(again.challenges.isEmpty)
            #expect(h.app.servedCount == 1)
            let succeeded = try await h.paymentIntents().filter { $0["status"] as? String == "succeeded" }
            #expect(succeeded.count == 1)
        }
    }
}
