import CardMock
import Foundation
import NIOHTTP1
import Testing

@Suite struct PaymentIntentTests {
    @Test func automaticCaptureBooksAPendingBalanceTransactionWithFees() async throws {
        try await MockServer.with { client in
            let pi = try await client.payment(
                2_000, extra: [("expand[0]", "latest_charge.balance_transaction"), ("metadata[order]", "42")])
            #expect(pi.status == 200)
            #expect(pi["status"] == "succeeded")
            #expect(pi["amount_received"] == 2_000)
            #expect(pi.id.hasPrefix("pi_"))
            #expect(pi["metadata"] == ["order": "42"])
            let txn = try #require(pi.json[path: "latest_charge.balance_transaction"])
            #expect(txn["object"] == "balance_transaction")
            #expect(txn["fee"] == 88)
            #expect(txn["net"] == 1_912)
            #expect(txn["status"] == "pending")
            #expect(txn[path: "fee_details.0.type"] == "stripe_fee")
            let created = try #require(txn["created"]?.int)
            #expect(txn["available_on"] == .int(created + 2 * 86_400))
            #expect(pi.headers["request-id"]?.hasPrefix("req_") == true)
        }
    }

    @Test func automaticAsyncAttachesTheBalanceTransactionLater() async throws {
        try await MockServer.with { client in
            let pi = try await client.payment(2_000, capture: "automatic_async", extra: [("expand[0]", "latest_charge")])
            #expect(pi["status"] == "succeeded")
            #expect(pi.json[path: "latest_charge.balance_transaction"] == .null)
            try await client.advance(seconds: 1)
            let charge = try await client.get("/v1/charges/\(pi.json[path: "latest_charge.id"]?.string ?? "")")
            #expect(charge["balance_transaction"]?.string?.hasPrefix("txn_") == true)
            let updated = try await client.get("/v1/events", ["type": "charge.updated"])
            #expect(updated["data"]?.count == 1)
            #expect(updated.json[path: "data.0.data.previous_attributes.balance_transaction"] == .null)
        }
    }

    @Test func manualCaptureOfPartOfTheAuthorization() async throws {
        try await MockServer.with { client in
            let pi = try await client.payment(2_000, capture: "manual")
            #expect(pi["status"] == "requires_capture")
            #expect(pi["amount_capturable"] == 2_000)
            let noBT = try await client.get("/v1/balance_transactions")
            #expect(noBT["data"]?.count == 0)
            let tooMuch = try await client.post("/v1/payment_intents/\(pi.id)/capture", ["amount_to_capture": "2001"])
            #expect(tooMuch.status == 400)
            let captured = try await client.post(
                "/v1/payment_intents/\(pi.id)/capture", ["amount_to_capture": "1500", "expand[]": "latest_charge.balance_transaction"])
            #expect(captured["status"] == "succeeded")
            #expect(captured["amount_received"] == 1_500)
            #expect(captured["amount_capturable"] == 0)
            #expect(captured.json[path: "latest_charge.amount_captured"] == 1_500)
            #expect(captured.json[path: "latest_charge.amount_refunded"] == 500)
            #expect(captured.json[path: "latest_charge.balance_transaction.amount"] == 1_500)
            #expect(captured.json[path: "latest_charge.balance_transaction.fee"] == 74)
            let again = try await client.post("/v1/payment_intents/\(pi.id)/capture")
            #expect(again.status == 400)
            #expect(again.error?["code"] == "payment_intent_unexpected_state")
            let types = try await client.get("/v1/events", ["limit": "100"])
            let sequence = (types["data"]?.array ?? []).reversed().compactMap { $0["type"]?.string }
            #expect(
                sequence == [
                    "payment_intent.created", "charge.succeeded", "payment_intent.amount_capturable_updated", "charge.captured",
                    "payment_intent.succeeded",
                ])
        }
    }

    @Test(arguments: [
        ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
        ("pm_card_chargeCustomerFail", "card_declined", "generic_decline"),
    ])
    func declinesAre402CardErrorsWithTheIntentEmbedded(card: String, code: String, declineCode: String) async throws {
        try await MockServer.with { client in
            let reply = try await client.payment(2_000, card: card)
            #expect(reply.status == 402)
            #expect(reply.error?["type"] == "card_error")
            #expect(reply.error?["code"] == .string(code))
            #expect(reply.error?["decline_code"] == .string(declineCode))
            #expect(reply.error?[path: "payment_intent.status"] == "requires_payment_method")
            #expect(reply.error?[path: "payment_intent.last_payment_error.decline_code"] == .string(declineCode))
            let charge = try await client.get("/v1/charges/\(reply.error?["charge"]?.string ?? "")")
            #expect(charge["status"] == "failed")
            #expect(charge["failure_code"] == .string(code))
        }
    }

    @Test func rawCardNumbersMakePaymentMethods() async throws {
        try await MockServer.with { client in
            let pm = try await client.post(
                "/v1/payment_methods",
                ["type": "card", "card[number]": "4000000000009995", "card[exp_month]": "12", "card[exp_year]": "2030", "card[cvc]": "123"])
            #expect(pm.status == 200)
            #expect(pm.json[path: "card.last4"] == "9995")
            let declined = try await client.payment(1_000, card: pm.id)
            #expect(declined.error?["decline_code"] == "insufficient_funds")
            let bad = try await client.post("/v1/payment_methods", ["type": "card", "card[number]": "4242424242424241"])
            #expect(bad.status == 402)
            #expect(bad.error?["code"] == "incorrect_number")
        }
    }

    @Test func validation() async throws {
        try await MockServer.with { client in
            let small = try await client.payment(49)
            #expect(small.status == 400)
            #expect(small.error?["code"] == "amount_too_small")
            #expect(small.error?["message"] == "Amount must be at least $0.50 usd")
            let currency = try await client.post("/v1/payment_intents", ["amount": "100", "currency": "xyz"])
            #expect(currency.status == 400)
            #expect(currency.error?["param"] == "currency")
            let unknown = try await client.post("/v1/payment_intents", ["amount": "100", "currency": "usd", "bogus": "1"])
            #expect(unknown.status == 400)
            #expect(unknown.error?["code"] == "parameter_unknown")
            #expect(unknown.error?["message"] == "Received unknown parameter: bogus")
            let missing = try await client.post("/v1/payment_intents", ["currency": "usd"])
            #expect(missing.error?["code"] == "parameter_missing")
            let lenient = try await client.post(
                "/v1/payment_intents",
                ["amount": "100", "currency": "usd", "automatic_payment_methods[enabled]": "true", "description": "x", "reason": "y"])
            #expect(lenient.status == 200)
            // Automatic payment methods without return_url cannot be confirmed server-side.
            let redirect = try await client.post(
                "/v1/payment_intents", ["amount": "100", "currency": "usd", "payment_method": "pm_card_visa", "confirm": "true"])
            #expect(redirect.status == 400)
            #expect(redirect.error?["param"] == "return_url")
            let never = try await client.post(
                "/v1/payment_intents",
                [
                    "amount": "100", "currency": "usd", "payment_method": "pm_card_visa", "confirm": "true",
                    "automatic_payment_methods[enabled]": "true", "automatic_payment_methods[allow_redirects]": "never",
                ])
            #expect(never["status"] == "succeeded")
            let missingObject = try await client.get("/v1/payment_intents/pi_nope")
            #expect(missingObject.status == 404)
            #expect(missingObject.error?["code"] == "resource_missing")
            let noRoute = try await client.get("/v1/nothing")
            #expect(noRoute.status == 404)
            #expect(noRoute.error?["type"] == "invalid_request_error")
        }
    }

    @Test func authentication() async throws {
        try await MockServer.with({ $0.apiKey = "sk_test_only" }) { client in
            var anonymous = client
            anonymous.key = nil
            #expect(try await anonymous.get("/v1/balance").status == 401)
            #expect(try await client.get("/v1/balance").status == 401)  // another sk_test_ key
            var right = client
            right.key = "sk_test_only"
            #expect(try await right.get("/v1/balance").status == 200)
            let basic = Data("sk_test_only:".utf8).base64EncodedString()
            anonymous.key = nil
            let reply = try await anonymous.send(.GET, "/v1/balance", headers: [("Authorization", "Basic \(basic)")])
            #expect(reply.status == 200)
            #expect(reply["object"] == "balance")
        }
        try await MockServer.with { client in
            var live = client
            live.key = "sk_live_abcdefgh"
            let reply = try await live.get("/v1/balance")
            #expect(reply.status == 401)
            #expect(reply.error?["type"] == "invalid_request_error")
        }
    }

    @Test func threeDSecureRequiresActionThenTheHelperDecides() async throws {
        try await MockServer.with { client in
            let pi = try await client.payment(3_000, card: "pm_card_threeDSecure2Required")
            #expect(pi["status"] == "requires_action")
            #expect(pi.json[path: "next_action.type"] == "use_stripe_sdk")
            let done = try await client.post("/_mock/payment_intents/\(pi.id)/authenticate", ["outcome": "succeed"])
            #expect(done["status"] == "succeeded")
            let other = try await client.payment(3_000, card: "pm_card_threeDSecure2Required")
            let failed = try await client.post("/_mock/payment_intents/\(other.id)/authenticate", ["outcome": "fail"])
            #expect(failed["status"] == "requires_payment_method")
            #expect(failed.json[path: "last_payment_error.code"] == "payment_intent_authentication_failure")
            let offSession = try await client.payment(3_000, card: "pm_card_threeDSecure2Required", extra: [("off_session", "true")])
            #expect(offSession.status == 402)
            #expect(offSession.error?["code"] == "authentication_required")
        }
    }

    @Test func cancelReleasesAnAuthorizationAndIsRefusedWhenTerminal() async throws {
        try await MockServer.with { client in
            let pi = try await client.payment(2_000, capture: "manual")
            let canceled = try await client.post(
                "/v1/payment_intents/\(pi.id)/cancel", ["cancellation_reason": "requested_by_customer", "expand[0]": "latest_charge"])
            #expect(canceled["status"] == "canceled")
            #expect(canceled["cancellation_reason"] == "requested_by_customer")
            #expect(canceled.json[path: "latest_charge.amount_refunded"] == 2_000)
            let done = try await client.payment(2_000)
            let refused = try await client.post("/v1/payment_intents/\(done.id)/cancel")
            #expect(refused.status == 400)
            #expect(refused.error?["code"] == "payment_intent_unexpected_state")
        }
    }

    @Test func uncapturedAuthorizationsExpireAfterSevenDaysOfMockTime() async throws {
        try await MockServer.with { client in
            let pi = try await client.payment(2_000, capture: "manual")
            try await client.advance(seconds: 6 * 86_400)
            #expect(try await client.get("/v1/payment_intents/\(pi.id)")["status"] == "requires_capture")
            try await client.advance(seconds: 86_400 + 10)
            let expired = try await client.get("/v1/payment_intents/\(pi.id)")
            #expect(expired["status"] == "canceled")
            #expect(expired["cancellation_reason"] == "automatic")
            #expect(try await client.get("/v1/events", ["type": "charge.expired"])["data"]?.count == 1)
        }
    }

    @Test func sharedPaymentTokensAreSingleUseWithinTheirLimits() async throws {
        try await MockServer.with { client in
            let token = try await client.post(
                "/_mock/shared_payment_tokens",
                ["payment_method": "pm_card_visa", "usage_limits[currency]": "usd", "usage_limits[max_amount]": "1000"])
            #expect(token.id.hasPrefix("spt_"))
            #expect(token["status"] == "active")
            func pay(_ amount: Int, _ spt: String, currency: String = "usd") async throws -> Reply {
                try await client.post(
                    "/v1/payment_intents",
                    pairs: [
                        ("amount", String(amount)), ("currency", currency), ("confirm", "true"), ("payment_method_types[0]", "card"),
                        ("shared_payment_granted_token", spt), ("capture_method", "automatic"),
                    ])
            }
            let over = try await pay(1_200, token.id)
            #expect(over.status == 400)
            #expect(over.error?["code"] == "shared_payment_token_amount_exceeded")
            let wrongCurrency = try await pay(800, token.id, currency: "eur")
            #expect(wrongCurrency.error?["code"] == "shared_payment_token_currency_mismatch")
            let paid = try await pay(800, token.id)
            #expect(paid["status"] == "succeeded")
            #expect(paid["shared_payment_granted_token"] == .string(token.id))
            let reused = try await pay(800, token.id)
            #expect(reused.status == 400)
            #expect(reused.error?["code"] == "shared_payment_token_already_used")
            #expect(try await client.get("/_mock/shared_payment_tokens/\(token.id)")["status"] == "used")

            let expiring = try await client.post(
                "/_mock/shared_payment_tokens", ["usage_limits[currency]": "usd", "usage_limits[max_amount]": "5000"])
            try await client.advance(seconds: 3_601)
            #expect(try await pay(800, expiring.id).error?["code"] == "shared_payment_token_expired")

            // Created with the token, confirmed later; a declining card spends it too.
            let declining = try await client.post(
                "/_mock/shared_payment_tokens",
                [
                    "payment_method": "pm_card_visa_chargeDeclined", "usage_limits[currency]": "usd", "usage_limits[max_amount]": "5000",
                ])
            let pi = try await client.post(
                "/v1/payment_intents",
                ["amount": "900", "currency": "usd", "payment_method_types[0]": "card", "shared_payment_granted_token": declining.id])
            #expect(pi["status"] == "requires_confirmation")
            let confirmed = try await client.post("/v1/payment_intents/\(pi.id)/confirm")
            #expect(confirmed.status == 402)
            #expect(try await client.get("/_mock/shared_payment_tokens/\(declining.id)")["status"] == "used")
        }
    }
}
