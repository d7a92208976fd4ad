/// Refunds, balance transactions, the balance, payouts, disputes and fees (card.md §1.5–§1.8).
extension CardMockStore {
    // MARK: Charges and refunds

    func listCharges(_ p: inout Params) throws(StripeError) -> JSON {
        let intent = try p.nonEmpty("payment_intent")
        let customer = try p.nonEmpty("customer")
        return try list(prefix: "ch", state.charges, url: "/v1/charges", &p, created: \.created, json: \.json) {
            (intent == nil || $0.paymentIntent == intent) && (customer == nil || $0.customer == customer)
        }
    }

    func createRefund(_ p: inout Params) throws(StripeError) -> JSON {
        let chargeID = try p.nonEmpty("charge")
        let intentID = try p.nonEmpty("payment_intent")
        let requested = try p.int("amount")
        let reason = try p.oneOf("reason", ["duplicate", "fraudulent", "requested_by_customer"])
        _ = try p.string("instructions_email")
        _ = try p.string("refund_application_fee")
        _ = try p.string("reverse_transfer")
        _ = try p.string("origin")
        let metadata = try p.metadata()
        try p.finish()
        var charge: Charge
        if let chargeID {
            guard let found = state.charges[chargeID] else { throw StripeError.noSuch("charge", chargeID, param: "charge") }
            charge = found
        } else if let intentID {
            guard let intent = state.paymentIntents[intentID] else {
                throw StripeError.noSuch("payment_intent", intentID, param: "payment_intent")
            }
            guard let latest = intent.latestCharge, let found = state.charges[latest], found.captured else {
                throw StripeError.state(
                    "charge_not_captured", "This PaymentIntent does not have a successful charge to refund.", param: "payment_intent")
            }
            charge = found
        } else {
            throw StripeError.missingParameter("charge")
        }
        guard charge.captured, charge.status == "succeeded" else {
            throw StripeError.state("charge_not_captured", "Charge \(charge.id) has not been captured.", param: "charge")
        }
        guard charge.refundable > 0 else {
            throw StripeError.state("charge_already_refunded", "Charge \(charge.id) has already been refunded.", param: "charge")
        }
        let amount = requested ?? charge.refundable
        guard amount > 0, amount <= charge.refundable else {
            throw StripeError.state(
                "amount_too_large",
                "Refund amount (\(amount)) is greater than unrefunded amount on charge (\(charge.refundable)).", param: "amount")
        }
        let before = charge.json
        var refund = Refund(
            id: Self.newID("re"), created: now, amount: amount, currency: charge.currency, charge: charge.id,
            paymentIntent: charge.paymentIntent, status: "succeeded", reason: reason, metadata: metadata)
        let transaction = BalanceTransaction(
            id: Self.newID("txn"), created: now, amount: -amount, fee: 0, currency: charge.currency, availableOn: now, status: "available",
            type: "refund", reportingCategory: "refund", source: refund.id, description: "REFUND FOR CHARGE (\(charge.id))")
        refund.balanceTransaction = transaction.id
        charge.amountRefunded += amount
        put(.balanceTransaction(transaction))
        put(.refund(refund))
        put(.charge(charge))
        emit("refund.created", refund.json)
        emitChange("charge.refunded", before: before, after: charge.json)
        return refund.json
    }

    func listRefunds(_ p: inout Params) throws(StripeError) -> JSON {
        let charge = try p.nonEmpty("charge")
        let intent = try p.nonEmpty("payment_intent")
        return try list(prefix: "re", state.refunds, url: "/v1/refunds", &p, created: \.created, json: \.json) {
            (charge == nil || $0.charge == charge) && (intent == nil || $0.paymentIntent == intent)
        }
    }

    // MARK: Balance

    func listBalanceTransactions(_ p: inout Params) throws(StripeError) -> JSON {
        let payout = try p.nonEmpty("payout")
        let source = try p.nonEmpty("source")
        let type = try p.nonEmpty("type")
        let currency = try p.nonEmpty("currency")?.lowercased()
        if let payout, state.payouts[payout] == nil { throw StripeError.noSuch("payout", payout, param: "payout") }
        return try list(prefix: "txn", state.balanceTransactions, url: "/v1/balance_transactions", &p, created: \.created, json: \.json) {
            (payout == nil || $0.payout == payout) && (source == nil || $0.source == source) && (type == nil || $0.type == type)
                && (currency == nil || $0.currency == currency)
        }
    }

    /// Net amounts per currency and status.
    func balances() -> (available: [String: Int64], pending: [String: Int64]) {
        var available: [String: Int64] = ["usd": 0]
        var pending: [String: Int64] = ["usd": 0]
        for transaction in state.balanceTransactions.values {
            if transaction.status == "available" {
                available[transaction.currency, default: 0] += transaction.net
            } else {
                pending[transaction.currency, default: 0] += transaction.net
            }
            available[transaction.currency, default: 0] += 0
            pending[transaction.currency, default: 0] += 0
        }
        return (available, pending)
    }

    func balance() -> JSON {
        let (available, pending) = balances()
        func entries(_ sums: [String: Int64]) -> JSON {
            .array(
                sums.keys.sorted().map { currency in
                    ["amount": .int(sums[currency]!), "currency": .string(currency), "source_types": ["card": .int(sums[currency]!)]]
                })
        }
        return ["object": "balance", "available": entries(available), "pending": entries(pending), "livemode": false]
    }

    // MARK: Payouts

    func createPayout(_ p: inout Params) throws(StripeError) -> JSON {
        guard let amount = try p.int("amount") else { throw StripeError.missingParameter("amount") }
        let currency = try p.required("currency").lowercased()
        let method = try p.oneOf("method", ["standard", "instant"]) ?? "standard"
        let description = try p.nonEmpty("description")
        let descriptor = try p.nonEmpty("statement_descriptor")
        _ = try p.string("destination")
        _ = try p.oneOf("source_type", ["card", "bank_account", "fpx"])
        let metadata = try p.metadata()
        try p.finish()
        guard amount > 0 else {
            throw StripeError.invalidRequest("Amount must be positive.", code: "parameter_invalid_integer", param: "amount")
        }
        guard balances().available[currency, default: 0] >= amount else {
            throw StripeError.state(
                "balance_insufficient",
                "You have insufficient funds in your Stripe account for this transfer. Your card balance is too low. You can use the /v1/balance endpoint to view your Stripe balance (for more details, see stripe.com/docs/api#balance).",
                param: "amount")
        }
        return makePayout(
            amount: amount, currency: currency, automatic: false, method: method, description: description,
            descriptor: descriptor, metadata: metadata, sweeping: []
        ).json
    }

    /// A payout and its own balance transaction (−amount, available at once).
    func makePayout(
        amount: Int64, currency: String, automatic: Bool, method: String = "standard", description: String? = nil,
        descriptor: String? = nil, metadata: [String: String] = [:], sweeping: [BalanceTransaction]
    ) -> Payout {
        let id = Self.newID("po")
        let own = BalanceTransaction(
            id: Self.newID("txn"), created: now, amount: -amount, fee: 0, currency: currency, availableOn: now, status: "available",
            type: "payout", reportingCategory: "payout", source: id, description: description ?? (automatic ? "STRIPE PAYOUT" : nil),
            payout: automatic ? id : nil)
        let payout = Payout(
            id: id, created: now, amount: amount, currency: currency, status: "pending", automatic: automatic,
            arrivalDate: now + 86_400, method: method, balanceTransaction: own.id,
            reconciliationStatus: automatic ? "in_progress" : "not_applicable",
            description: description ?? (automatic ? "STRIPE PAYOUT" : nil), statementDescriptor: descriptor, metadata: metadata)
        put(.balanceTransaction(own))
        for var transaction in sweeping {
            transaction.payout = id
            put(.balanceTransaction(transaction))
        }
        put(.payout(payout))
        emit("payout.created", payout.json)
        return payout
    }

    /// The automatic payout run: per currency, every available transaction not yet swept, when
    /// their net sum is positive (a negative balance carries over to the next run).
    func runAutomaticPayouts(currency only: String? = nil) -> [Payout] {
        var groups: [String: [BalanceTransaction]] = [:]
        for id in state.order["txn"] ?? [] {
            guard let transaction = state.balanceTransactions[id], transaction.status == "available", transaction.payout == nil,
                only == nil || transaction.currency == only
            else { continue }
            groups[transaction.currency, default: []].append(transaction)
        }
        var payouts: [Payout] = []
        for currency in groups.keys.sorted() {
            let sweeping = groups[currency]!
            let amount = sweeping.reduce(0) { $0 + $1.net }
            guard amount > 0 else { continue }
            payouts.append(makePayout(amount: amount, currency: currency, automatic: true, sweeping: sweeping))
        }
        return payouts
    }

    func listPayouts(_ p: inout Params) throws(StripeError) -> JSON {
        let status = try p.nonEmpty("status")
        let arrival = try p.range("arrival_date")
        _ = try p.string("destination")
        return try list(prefix: "po", state.payouts, url: "/v1/payouts", &p, created: \.created, json: \.json) {
            (status == nil || $0.status == status) && arrival.contains($0.arrivalDate)
        }
    }

    func cancelPayout(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        try p.finish()
        guard var payout = state.payouts[id] else { throw StripeError.noSuch("payout", id) }
        guard payout.status == "pending" else {
            throw StripeError.state(
                "payout_not_cancelable", "Payouts can only be canceled while they are pending; \(id) is \(payout.status).")
        }
        let before = payout.json
        let transaction = BalanceTransaction(
            id: Self.newID("txn"), created: now, amount: payout.amount, fee: 0, currency: payout.currency, availableOn: now,
            status: "available", type: "payout_cancel", reportingCategory: "payout_reversal", source: payout.id,
            description: "Payout cancellation for \(payout.id)")
        payout.status = "canceled"
        payout.failureBalanceTransaction = transaction.id
        put(.balanceTransaction(transaction))
        put(.payout(payout))
        emit("payout.canceled", payout.json)
        emitChange("payout.updated", before: before, after: payout.json)
        return payout.json
    }

    /// `POST /_mock/payouts/{id}/fail failure_code=…`: the bank returns the payout, even after `paid`.
    func failPayout(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        let code = try p.nonEmpty("failure_code") ?? "account_closed"
        let message = try p.nonEmpty("failure_message") ?? "The bank account has been closed."
        try p.finish()
        guard var payout = state.payouts[id] else { throw StripeError.noSuch("payout", id) }
        guard ["pending", "in_transit", "paid"].contains(payout.status) else {
            throw StripeError.state("payout_unexpected_state", "Payout \(id) is \(payout.status) and cannot fail.")
        }
        let before = payout.json
        let transaction = BalanceTransaction(
            id: Self.newID("txn"), created: now, amount: payout.amount, fee: 0, currency: payout.currency, availableOn: now,
            status: "available", type: "payout_failure", reportingCategory: "payout_reversal", source: payout.id,
            description: "Payout failure for \(payout.id)")
        payout.status = "failed"
        payout.failureCode = code
        payout.failureMessage = message
        payout.failureBalanceTransaction = transaction.id
        put(.balanceTransaction(transaction))
        put(.payout(payout))
        emit("payout.failed", payout.json)
        emitChange("payout.updated", before: before, after: payout.json)
        return payout.json
    }

    // MARK: Disputes

    /// `POST /_mock/disputes charge=ch_… [amount] [reason]`.
    func openDispute(_ p: inout Params) throws(StripeError) -> JSON {
        let chargeID = try p.required("charge")
        let requested = try p.int("amount")
        let reason = try p.nonEmpty("reason") ?? "fraudulent"
        try p.finish()
        guard let charge = state.charges[chargeID] else { throw StripeError.noSuch("charge", chargeID, param: "charge") }
        guard charge.captured, charge.status == "succeeded", !charge.disputed else {
            throw StripeError.state("charge_not_disputable", "Charge \(chargeID) is not captured or is already disputed.", param: "charge")
        }
        let amount = requested ?? charge.amountCaptured
        guard amount > 0, amount <= charge.amountCaptured else {
            throw StripeError.invalidRequest(
                "amount must be from 1 to \(charge.amountCaptured)", code: "parameter_invalid", param: "amount")
        }
        return openDispute(on: chargeID, amount: amount, reason: reason)
    }

    /// Opens a dispute: funds withdrawn at once with the 1500 dispute fee.
    func openDispute(on chargeID: String, amount: Int64, reason: String) -> JSON {
        guard var charge = state.charges[chargeID] else { return nil }
        let id = Self.newID("dp")
        let withdrawal = BalanceTransaction(
            id: Self.newID("txn"), created: now, amount: -amount, fee: 1_500, feeDescription: "Dispute fee", currency: charge.currency,
            availableOn: now, status: "available", type: "adjustment", reportingCategory: "dispute", source: id,
            description: "Chargeback withdrawal for \(charge.id)")
        let dispute = Dispute(
            id: id, created: now, amount: amount, currency: charge.currency, charge: charge.id, paymentIntent: charge.paymentIntent,
            status: "needs_response", reason: reason, balanceTransactions: [withdrawal.id], evidence: [:], metadata: [:])
        charge.disputed = true
        put(.balanceTransaction(withdrawal))
        put(.dispute(dispute))
        put(.charge(charge))
        let json = render(dispute)
        emit("charge.dispute.created", json)
        emit("charge.dispute.funds_withdrawn", json)
        return json
    }

    func updateDispute(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        guard var dispute = state.disputes[id] else { throw StripeError.noSuch("dispute", id) }
        let before = render(dispute)
        if let evidence = try p.map("evidence") {
            for (key, value) in evidence { if case .string(let text) = value { dispute.evidence[key] = text.isEmpty ? nil : text } }
        }
        let submit = try p.bool("submit") ?? false
        dispute.metadata = try p.metadata(merging: dispute.metadata)
        try p.finish()
        guard ["needs_response", "warning_needs_response", "under_review", "warning_under_review"].contains(dispute.status) else {
            throw StripeError.state("dispute_already_closed", "This dispute is already closed.")
        }
        if submit { dispute.status = dispute.status.hasPrefix("warning") ? "warning_under_review" : "under_review" }
        put(.dispute(dispute))
        emitChange("charge.dispute.updated", before: before, after: render(dispute))
        return render(dispute)
    }

    /// `POST /v1/disputes/{id}/close` (accept: lost) and the lose helper.
    func closeDispute(_ id: String, _ p: inout Params, outcome: String, helper: Bool = false) throws(StripeError) -> JSON {
        try p.finish()
        guard var dispute = state.disputes[id] else { throw StripeError.noSuch("dispute", id) }
        let open = ["needs_response", "warning_needs_response"] + (helper ? ["under_review", "warning_under_review"] : [])
        guard open.contains(dispute.status) else {
            throw StripeError.state("dispute_already_closed", "This dispute is already closed or under review (\(dispute.status)).")
        }
        dispute.status = dispute.status.hasPrefix("warning") ? "warning_closed" : outcome
        put(.dispute(dispute))
        emit("charge.dispute.closed", render(dispute))
        return render(dispute)
    }

    /// `POST /_mock/disputes/{id}/win`: funds reinstated (the dispute fee is not returned).
    func winDispute(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        try p.finish()
        guard var dispute = state.disputes[id] else { throw StripeError.noSuch("dispute", id) }
        guard ["needs_response", "under_review", "warning_needs_response", "warning_under_review"].contains(dispute.status) else {
            throw StripeError.state("dispute_already_closed", "This dispute is already closed (\(dispute.status)).")
        }
        let reinstatement = BalanceTransaction(
            id: Self.newID("txn"), created: now, amount: dispute.amount, fee: 0, currency: dispute.currency, availableOn: now,
            status: "available", type: "adjustment", reportingCategory: "dispute_reversal", source: dispute.id,
            description: "Chargeback reversal for \(dispute.charge)")
        dispute.status = "won"
        dispute.balanceTransactions.append(reinstatement.id)
        put(.balanceTransaction(reinstatement))
        put(.dispute(dispute))
        emit("charge.dispute.funds_reinstated", render(dispute))
        emit("charge.dispute.closed", render(dispute))
        return render(dispute)
    }

    func listDisputes(_ p: inout Params) throws(StripeError) -> JSON {
        let charge = try p.nonEmpty("charge")
        let intent = try p.nonEmpty("payment_intent")
        return try list(prefix: "dp", state.disputes, url: "/v1/disputes", &p, created: \.created, json: render) {
            (charge == nil || $0.charge == charge) && (intent == nil || $0.paymentIntent == intent)
        }
    }

    /// A dispute with its balance transactions as objects, as Stripe renders them.
    func render(_ dispute: Dispute) -> JSON {
        var json = dispute.json
        json["balance_transactions"] = .array(dispute.balanceTransactions.compactMap { state.balanceTransactions[$0]?.json })
        return json
    }

    // MARK: Fees and tokens

    /// `POST /_mock/fee_schedule currency=usd percent_bps=290 fixed=30` (no currency: the fallback rate).
    func setFeeSchedule(_ p: inout Params) throws(StripeError) -> JSON {
        let currency = try p.nonEmpty("currency")?.lowercased()
        guard let bps = try p.int("percent_bps"), (0...10_000).contains(bps) else {
            throw StripeError.invalidRequest("percent_bps must be from 0 to 10000", code: "parameter_invalid", param: "percent_bps")
        }
        guard let fixed = try p.int("fixed"), fixed >= 0 else {
            throw StripeError.invalidRequest("fixed must be a non-negative integer", code: "parameter_invalid", param: "fixed")
        }
        try p.finish()
        var fees = state.fees
        let rate = FeeSchedule.Rate(percentBps: bps, fixed: fixed)
        if let currency { fees.rates[currency] = rate } else { fees.fallback = rate }
        put(.fees(fees))
        return fees.json
    }

    /// `POST /_mock/balance_transactions/{id}/fee fee=…`: the processor charges another fee on a
    /// balance transaction it already reported, without an event (a fee correction the merchant's
    /// books never heard of: what reconciliation's fee check is for). Its net moves with it.
    func adjustFee(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        guard var transaction = state.balanceTransactions[id] else { throw StripeError.noSuch("balance_transaction", id) }
        guard let fee = try p.int("fee"), fee >= 0, fee <= abs(transaction.amount) else {
            throw StripeError.invalidRequest(
                "fee must be a non-negative integer no larger than the amount", code: "parameter_invalid", param: "fee")
        }
        try p.finish()
        transaction.fee = fee
        put(.balanceTransaction(transaction))
        return transaction.json
    }

    /// Issues a Shared Payment Token: `payment_method` (default `pm_card_visa`),
    /// `usage_limits[currency]`, `usage_limits[max_amount]`, `usage_limits[expires_at]` (default in one hour),
    /// `seller_details[network_id]`.
    func createSharedPaymentToken(_ p: inout Params) throws(StripeError) -> JSON {
        let reference = try p.nonEmpty("payment_method") ?? "pm_card_visa"
        let limits = try p.map("usage_limits") ?? [:]
        let seller = try p.map("seller_details") ?? [:]
        _ = try p.string("customer")
        let metadata = try p.metadata()
        try p.finish()
        guard case .string(let currency)? = limits["currency"], Currency.minimumCharge[currency.lowercased()] != nil else {
            throw StripeError.missingParameter("usage_limits[currency]")
        }
        guard case .string(let maxText)? = limits["max_amount"], let maxAmount = Int64(maxText), maxAmount > 0 else {
            throw StripeError.missingParameter("usage_limits[max_amount]")
        }
        var expiresAt = now + 3_600
        if case .string(let text)? = limits["expires_at"] {
            guard let value = Int64(text) else { throw StripeError.invalidInteger("usage_limits[expires_at]") }
            expiresAt = value
        }
        let method = try paymentMethod(reference)
        var networkID: String?
        if case .string(let text)? = seller["network_id"] { networkID = text }
        let token = SharedPaymentToken(
            id: Self.newID("spt"), created: now, paymentMethod: method.id, currency: currency.lowercased(), maxAmount: maxAmount,
            expiresAt: expiresAt, networkID: networkID, metadata: metadata)
        put(.token(token))
        return token.json(at: now)
    }

    func deactivateSharedPaymentToken(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        try p.finish()
        guard var token = state.tokens[id] else { throw StripeError.noSuch("shared_payment.granted_token", id) }
        if token.deactivatedAt == nil { token.deactivatedAt = now }
        put(.token(token))
        return token.json(at: now)
    }

    /// A token may pay `amount` in `currency` once, before it expires.
    func checkToken(_ id: String, amount: Int64, currency: String) throws(StripeError) {
        let param = "shared_payment_granted_token"
        guard let token = state.tokens[id] else { throw StripeError.noSuch("shared_payment.granted_token", id, param: param) }
        switch token.status(at: now) {
        case "used":
            throw StripeError.invalidRequest(
                "The shared payment token \(id) has already been used.", code: "shared_payment_token_already_used", param: param)
        case "expired":
            throw StripeError.invalidRequest(
                "The shared payment token \(id) has expired.", code: "shared_payment_token_expired", param: param)
        case "deactivated":
            throw StripeError.invalidRequest(
                "The shared payment token \(id) has been deactivated.", code: "shared_payment_token_deactivated", param: param)
        default: break
        }
        guard token.currency == currency else {
            throw StripeError.invalidRequest(
                "The shared payment token \(id) is limited to \(token.currency), not \(currency).",
                code: "shared_payment_token_currency_mismatch", param: param)
        }
        guard amount <= token.maxAmount else {
            throw StripeError.invalidRequest(
                "The amount \(amount) exceeds the shared payment token's max_amount of \(token.maxAmount).",
                code: "shared_payment_token_amount_exceeded", param: param)
        }
    }
}
