import CardMock
import Foundation
import Testing

@Suite struct MoneyFlowTests {
    @Test func refundsArePartialRepeatableAndThenRefused() async throws {
        try await MockServer.with { client in
            let pi = try await client.payment(2_000)
            let first = try await client.post(
                "/v1/refunds",
                ["payment_intent": pi.id, "amount": "500", "reason": "requested_by_customer", "expand[0]": "balance_transaction"])
            #expect(first["status"] == "succeeded")
            #expect(first.json[path: "balance_transaction.amount"] == -500)
            #expect(first.json[path: "balance_transaction.fee"] == 0)
            #expect(first.json[path: "balance_transaction.type"] == "refund")
            let charge = pi["latest_charge"]?.string ?? ""
            let tooMuch = try await client.post("/v1/refunds", ["charge": charge, "amount": "1600"])
            #expect(tooMuch.status == 400)
            let rest = try await client.post("/v1/refunds", ["charge": charge])
            #expect(rest["amount"] == 1_500)
            let refunded = try await client.get("/v1/charges/\(charge)")
            #expect(refunded["refunded"] == true)
            #expect(refunded["amount_refunded"] == 2_000)
            let again = try await client.post("/v1/refunds", ["charge": charge, "amount": "1"])
            #expect(again.status == 400)
            #expect(again.error?["code"] == "charge_already_refunded")
            #expect(try await client.get("/v1/refunds", ["charge": charge])["data"]?.count == 2)
            // The PaymentIntent stays succeeded.
            #expect(try await client.get("/v1/payment_intents/\(pi.id)")["status"] == "succeeded")
        }
    }

    @Test func fundsBecomeAvailableOnTheClockAndAPayoutSweepsExactlyThem() async throws {
        try await MockServer.with { client in
            _ = try await client.payment(2_000)
            _ = try await client.payment(5_000)
            var balance = try await client.get("/v1/balance")
            #expect(balance.json[path: "pending.0.amount"] == .int(1_912 + 4_825))
            #expect(balance.json[path: "available.0.amount"] == 0)
            #expect(try await client.post("/_mock/payouts/run")["data"]?.count == 0)

            try await client.advance(seconds: 2 * 86_400)
            balance = try await client.get("/v1/balance")
            // The daily run may already have swept them: either available, or paid out.
            let transactions = try await client.get("/v1/balance_transactions", ["type": "charge"])
            let data = try #require(transactions["data"]?.array)
            let unavailable = data.filter { $0["status"] != "available" }
            #expect(unavailable.isEmpty, "\(unavailable)")
            #expect(try await client.get("/v1/events", ["type": "balance.available"])["data"]?.count ?? 0 >= 1)

            let ran = try await client.post("/_mock/payouts/run")
            let payouts = try await client.get("/v1/payouts")
            let payout = try #require(payouts["data"]?.array?.first)
            #expect(ran["data"]?.count ?? 0 <= 1)
            #expect(payout["automatic"] == true)
            #expect(payout["amount"] == .int(1_912 + 4_825))
            let id = payout["id"]?.string ?? ""
            let swept = try await client.get("/v1/balance_transactions", ["payout": id, "limit": "100"])
            let own = payout["balance_transaction"]?.string
            let lines = (swept["data"]?.array ?? []).filter { $0["id"]?.string != own }
            #expect(lines.count == 2)
            #expect(lines.reduce(Int64(0)) { $0 + ($1["net"]?.int ?? 0) } == payout["amount"]?.int)
            let ownBT = try await client.get("/v1/balance_transactions/\(own ?? "")")
            #expect(ownBT["amount"] == .int(-(1_912 + 4_825)))
            #expect(ownBT["type"] == "payout")
            #expect(try await client.get("/v1/balance").json[path: "available.0.amount"] == 0)

            try await client.advance(seconds: 3_600)
            #expect(try await client.get("/v1/payouts/\(id)")["status"] == "in_transit")
            try await client.advance(seconds: 86_400)
            let paid = try await client.get("/v1/payouts/\(id)")
            #expect(paid["status"] == "paid")
            #expect(paid["reconciliation_status"] == "completed")
            #expect(try await client.get("/v1/events", ["type": "payout.reconciliation_completed"])["data"]?.count == 1)
        }
    }

    @Test func theDailyScheduleRunsAutomaticPayouts() async throws {
        try await MockServer.with { client in
            _ = try await client.payment(10_000, card: "pm_card_bypassPending")
            let txn = try await client.get("/v1/balance_transactions")
            #expect(txn.json[path: "data.0.status"] == "available")
            try await client.advance(seconds: 86_400)
            let payouts = try await client.get("/v1/payouts")
            #expect(payouts["data"]?.count == 1)
            #expect(payouts.json[path: "data.0.amount"] == .int(10_000 - 320))
        }
    }

    @Test func aFailedPayoutReturnsTheFundsWithAPayoutFailureTransaction() async throws {
        try await MockServer.with { client in
            _ = try await client.payment(10_000, card: "pm_card_bypassPending")
            let payout = try #require(try await client.post("/_mock/payouts/run")["data"]?.array?.first)
            let id = payout["id"]?.string ?? ""
            let failed = try await client.post("/_mock/payouts/\(id)/fail", ["failure_code": "account_closed"])
            #expect(failed["status"] == "failed")
            #expect(failed["failure_code"] == "account_closed")
            let failureBT = try await client.get("/v1/balance_transactions/\(failed["failure_balance_transaction"]?.string ?? "")")
            #expect(failureBT["type"] == "payout_failure")
            #expect(failureBT["amount"] == payout["amount"])
            #expect(try await client.get("/v1/balance").json[path: "available.0.amount"] == payout["amount"])
            #expect(try await client.get("/v1/events", ["type": "payout.failed"])["data"]?.count == 1)
            // The returned funds go out with the next automatic payout.
            let next = try #require(try await client.post("/_mock/payouts/run")["data"]?.array?.first)
            #expect(next["amount"] == payout["amount"])
        }
    }

    @Test func manualPayoutsNeedAnAvailableBalance() async throws {
        try await MockServer.with { client in
            let refused = try await client.post("/v1/payouts", ["amount": "100", "currency": "usd"])
            #expect(refused.status == 400)
            #expect(refused.error?["code"] == "balance_insufficient")
            _ = try await client.payment(10_000, card: "pm_card_bypassPending")
            let payout = try await client.post("/v1/payouts", ["amount": "5000", "currency": "usd", "metadata[batch]": "7"])
            #expect(payout["automatic"] == false)
            #expect(payout["status"] == "pending")
            #expect(try await client.get("/v1/balance").json[path: "available.0.amount"] == .int(9_680 - 5_000))
            let canceled = try await client.post("/v1/payouts/\(payout.id)/cancel")
            #expect(canceled["status"] == "canceled")
            #expect(try await client.get("/v1/balance").json[path: "available.0.amount"] == 9_680)
        }
    }

    @Test func disputesWithdrawWithAFeeAndReinstateWhenWon() async throws {
        try await MockServer.with { client in
            let pi = try await client.payment(4_000)
            let charge = pi["latest_charge"]?.string ?? ""
            let dispute = try await client.post("/_mock/disputes", ["charge": charge])
            #expect(dispute["status"] == "needs_response")
            #expect(dispute.json[path: "balance_transactions.0.amount"] == -4_000)
            #expect(dispute.json[path: "balance_transactions.0.fee"] == 1_500)
            #expect(dispute.json[path: "balance_transactions.0.net"] == -5_500)
            #expect(try await client.get("/v1/charges/\(charge)")["disputed"] == true)
            let won = try await client.post("/_mock/disputes/\(dispute.id)/win")
            #expect(won["status"] == "won")
            #expect(won.json[path: "balance_transactions.1.amount"] == 4_000)
            #expect(won.json[path: "balance_transactions.1.fee"] == 0)
            #expect(try await client.post("/v1/disputes/\(dispute.id)/close").status == 400)

            let other = try await client.payment(4_000)
            let lost = try await client.post("/_mock/disputes", ["charge": other["latest_charge"]?.string ?? ""])
            let evidence = try await client.post("/v1/disputes/\(lost.id)", ["evidence[product_description]": "api calls"])
            #expect(evidence.json[path: "evidence.product_description"] == "api calls")
            let closed = try await client.post("/v1/disputes/\(lost.id)/close")
            #expect(closed["status"] == "lost")
            let types = try await client.get("/v1/events", ["type": "charge.dispute.*", "limit": "100"])
            #expect(types["data"]?.count == 8)  // created + funds_withdrawn + closed for both, funds_reinstated, updated
        }
    }

    @Test func card0259OpensAFraudulentDisputeAfterTheCharge() async throws {
        try await MockServer.with { client in
            _ = try await client.payment(2_500, card: "pm_card_createDispute")
            let disputes = try await client.get("/v1/disputes")
            #expect(disputes["data"]?.count == 1)
            #expect(disputes.json[path: "data.0.reason"] == "fraudulent")
        }
    }

    @Test func theFeeScheduleIsConfigurable() async throws {
        try await MockServer.with { client in
            let set = try await client.post("/_mock/fee_schedule", ["currency": "usd", "percent_bps": "100", "fixed": "10"])
            #expect(set.json[path: "rates.usd.percent_bps"] == 100)
            let pi = try await client.payment(2_000, extra: [("expand[0]", "latest_charge.balance_transaction")])
            #expect(pi.json[path: "latest_charge.balance_transaction.fee"] == 30)
            #expect(pi.json[path: "latest_charge.balance_transaction.fee_details.0.amount"] == 30)
        }
    }

    @Test func aFeeCorrectionChangesTheBalanceTransactionAndTheBalanceWithoutAnEvent() async throws {
        try await MockServer.with { client in
            let pi = try await client.payment(2_000, extra: [("expand[0]", "latest_charge.balance_transaction")])
            let id = try #require(pi.json[path: "latest_charge.balance_transaction.id"]?.string)
            let fee = try #require(pi.json[path: "latest_charge.balance_transaction.fee"]?.int)
            let before = try #require(try await client.get("/v1/balance").json[path: "pending.0.amount"]?.int)
            let events = try await client.get("/v1/events")["data"]?.count
            let adjusted = try await client.post("/_mock/balance_transactions/\(id)/fee", ["fee": String(fee + 3)])
            #expect(adjusted.status == 200 && adjusted.json[path: "fee"]?.int == fee + 3)
            #expect(adjusted.json[path: "net"]?.int == 2_000 - fee - 3)
            #expect(try await client.get("/v1/balance_transactions/\(id)").json[path: "fee"]?.int == fee + 3)
            #expect(try await client.get("/v1/balance").json[path: "pending.0.amount"]?.int == before - 3)
            #expect(try await client.get("/v1/events")["data"]?.count == events)
            let tooBig = try await client.post("/_mock/balance_transactions/\(id)/fee", ["fee": "2001"])
            #expect(tooBig.status == 400 && tooBig.error?[path: "param"]?.string == "fee", "\(tooBig)")
            #expect(try await client.post("/_mock/balance_transactions/txn_nope/fee", ["fee": "1"]).status == 404)
        }
    }
}
