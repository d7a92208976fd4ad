import Foundation

/// PaymentMethods and the PaymentIntent state machine (card.md §1.3–§1.4).
extension CardMockStore {
    // MARK: PaymentMethods

    func createPaymentMethod(_ p: inout Params) throws(StripeError) -> JSON {
        _ = try p.oneOf("type", ["card"])
        let card = try p.map("card") ?? [:]
        _ = try p.map("billing_details")
        let customer = try p.nonEmpty("customer")
        let metadata = try p.metadata()
        try p.finish()
        guard case .string(let number)? = card["number"] else {
            // A token in card[token] (tok_visa) stands for its test card.
            if case .string(let token)? = card["token"], let number = TestCard.byMagicID[token] {
                return materialize(TestCard.byNumber[number]!, customer: customer, metadata: metadata).json
            }
            throw StripeError.missingParameter("card[number]")
        }
        let testCard = try TestCard.forNumber(number)
        var expMonth: Int64 = 12
        var expYear: Int64 = 2034
        if case .string(let text)? = card["exp_month"], let value = Int64(text) { expMonth = value }
        if case .string(let text)? = card["exp_year"], let value = Int64(text) { expYear = value }
        return materialize(testCard, expMonth: expMonth, expYear: expYear, customer: customer, metadata: metadata).json
    }

    func materialize(
        _ card: TestCard, expMonth: Int64 = 12, expYear: Int64 = 2034, customer: String? = nil, metadata: [String: String] = [:]
    ) -> PaymentMethod {
        let method = PaymentMethod(
            id: Self.newID("pm"), created: now, card: card, expMonth: expMonth, expYear: expYear, customer: customer, metadata: metadata)
        put(.paymentMethod(method))
        return method
    }

    /// A stored `pm_…`, or a magic id (`pm_card_visa`, `tok_visa`) materialised as a new `pm_…` as Stripe does.
    func paymentMethod(_ reference: String, param: String = "payment_method") throws(StripeError) -> PaymentMethod {
        if let method = state.paymentMethods[reference] { return method }
        if let number = TestCard.byMagicID[reference], let card = TestCard.byNumber[number] { return materialize(card) }
        throw StripeError.noSuch("PaymentMethod", reference, param: param)
    }

    // MARK: Create, update, list

    func createPaymentIntent(_ p: inout Params) throws(StripeError) -> JSON {
        guard let amount = try p.int("amount") else { throw StripeError.missingParameter("amount") }
        let currency = try p.required("currency").lowercased()
        guard Currency.minimumCharge[currency] != nil else {
            throw StripeError.invalidRequest("Invalid currency: \(currency).", code: "parameter_invalid", param: "currency")
        }
        guard amount >= Currency.minimumCharge[currency]! else {
            throw StripeError.invalidRequest(Currency.minimumMessage(currency), code: "amount_too_small", param: "amount")
        }
        let captureMethod = try p.oneOf("capture_method", ["automatic", "automatic_async", "manual"]) ?? "automatic_async"
        let confirmationMethod = try p.oneOf("confirmation_method", ["automatic", "manual"]) ?? "automatic"
        let reference = try p.nonEmpty("payment_method")
        let types = try p.strings("payment_method_types")
        let automatic = try p.map("automatic_payment_methods")
        let confirmNow = try p.bool("confirm") ?? false
        let options = try ConfirmOptions(&p)
        let customer = try p.nonEmpty("customer")
        let description = try p.nonEmpty("description")
        let receiptEmail = try p.nonEmpty("receipt_email")
        for ignored in ["statement_descriptor", "statement_descriptor_suffix", "setup_future_usage", "on_behalf_of"] {
            _ = try p.string(ignored)
        }
        _ = try p.map("payment_method_options")
        _ = try p.map("payment_method_data")
        let metadata = try p.metadata()
        try p.finish()

        if let types, types.contains(where: { $0 != "card" && $0 != "link" }) {
            throw StripeError.invalidRequest(
                "The payment method type provided: \(types.joined(separator: ", ")) is invalid.", code: "parameter_invalid",
                param: "payment_method_types")
        }
        let apmEnabled = types == nil && automatic?["enabled"] != .string("false")
        let allowRedirects = automatic?["allow_redirects"] != .string("never")
        if confirmNow {
            try checkConfirmable(
                automatic: apmEnabled, allowRedirects: allowRedirects, returnURL: options.returnURL, reference: reference,
                token: options.token, amount: amount, currency: currency)
        }
        if !confirmNow, let token = options.token {
            guard reference == nil else {
                throw StripeError.invalidRequest(
                    "You cannot provide both payment_method and shared_payment_granted_token.", code: "parameter_invalid",
                    param: "shared_payment_granted_token")
            }
            try checkToken(token, amount: amount, currency: currency)
        }
        var method: PaymentMethod?
        if let reference { method = try paymentMethod(reference) }
        var intent = PaymentIntent(
            id: Self.newID("pi"), created: now, amount: amount, currency: currency,
            status: method == nil && options.token == nil ? .requiresPaymentMethod : .requiresConfirmation,
            captureMethod: captureMethod, confirmationMethod: confirmationMethod, paymentMethod: method?.id,
            paymentMethodTypes: types ?? ["card"], automaticPaymentMethods: apmEnabled, allowRedirects: allowRedirects,
            customer: customer, description: description, receiptEmail: receiptEmail, returnURL: options.returnURL,
            sharedPaymentGrantedToken: options.token, metadata: metadata, clientSecret: "")
        intent.clientSecret = intent.id + "_secret_" + String(Self.newID("x").dropFirst(2))
        put(.paymentIntent(intent))
        emit("payment_intent.created", intent.json)
        if confirmNow { try confirm(&intent, options) }
        return intent.json
    }

    func updatePaymentIntent(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        guard var intent = state.paymentIntents[id] else { throw StripeError.noSuch("payment_intent", id) }
        let amount = try p.int("amount")
        let reference = try p.nonEmpty("payment_method")
        let captureMethod = try p.oneOf("capture_method", ["automatic", "automatic_async", "manual"])
        if p.has("description") { intent.description = try p.nonEmpty("description") }
        if p.has("receipt_email") { intent.receiptEmail = try p.nonEmpty("receipt_email") }
        if p.has("customer") { intent.customer = try p.nonEmpty("customer") }
        intent.metadata = try p.metadata(merging: intent.metadata)
        try p.finish()
        let editable: Set<PaymentIntent.Status> = [.requiresPaymentMethod, .requiresConfirmation, .requiresAction]
        if amount != nil || reference != nil || captureMethod != nil {
            guard editable.contains(intent.status) else { throw unexpectedState(intent, action: "update") }
        }
        if let amount {
            guard amount >= Currency.minimumCharge[intent.currency] ?? 50 else {
                throw StripeError.invalidRequest(Currency.minimumMessage(intent.currency), code: "amount_too_small", param: "amount")
            }
            intent.amount = amount
        }
        if let captureMethod { intent.captureMethod = captureMethod }
        if let reference {
            intent.paymentMethod = try paymentMethod(reference).id
            intent.status = .requiresConfirmation
        }
        // Stripe has no `payment_intent.updated` event: updates are silent.
        put(.paymentIntent(intent))
        return intent.json
    }

    func listPaymentIntents(_ p: inout Params) throws(StripeError) -> JSON {
        let customer = try p.nonEmpty("customer")
        return try list(prefix: "pi", state.paymentIntents, url: "/v1/payment_intents", &p, created: \.created, json: \.json) {
            customer == nil || $0.customer == customer
        }
    }

    // MARK: Confirm

    /// What a confirmation may carry besides the payment method.
    struct ConfirmOptions {
        var returnURL: String?
        var offSession = false
        var token: String?

        init(_ p: inout Params) throws(StripeError) {
            returnURL = try p.nonEmpty("return_url")
            token = try p.nonEmpty("shared_payment_granted_token")
            switch try p.nonEmpty("off_session") {
            case nil, "false": offSession = false
            case "true", "one_off", "recurring": offSession = true
            case let other?:
                throw StripeError.invalidRequest("Invalid off_session: \(other)", code: "parameter_invalid", param: "off_session")
            }
            for ignored in ["error_on_requires_action", "use_stripe_sdk", "setup_future_usage", "receipt_email"] {
                _ = try p.string(ignored)
            }
            _ = try p.map("mandate_data")
            _ = try p.map("payment_method_options")
            _ = try p.map("radar_options")
        }
    }

    func confirmPaymentIntent(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        guard var intent = state.paymentIntents[id] else { throw StripeError.noSuch("payment_intent", id) }
        let reference = try p.nonEmpty("payment_method")
        let captureMethod = try p.oneOf("capture_method", ["automatic", "automatic_async", "manual"])
        let types = try p.strings("payment_method_types")
        var options = try ConfirmOptions(&p)
        _ = try p.map("payment_method_data")
        _ = try p.map("shipping")
        // A token given at creation (without confirm) is spent by the first confirmation.
        if options.token == nil, reference == nil, let pending = intent.sharedPaymentGrantedToken, state.tokens[pending]?.usedBy == nil {
            options.token = pending
        }
        try p.finish()
        let confirmable: Set<PaymentIntent.Status> = [.requiresPaymentMethod, .requiresConfirmation, .requiresAction]
        guard confirmable.contains(intent.status) else { throw unexpectedState(intent, action: "confirm") }
        if let types { intent.paymentMethodTypes = types }
        try checkConfirmable(
            automatic: intent.automaticPaymentMethods && types == nil, allowRedirects: intent.allowRedirects,
            returnURL: options.returnURL ?? intent.returnURL, reference: reference ?? intent.paymentMethod, token: options.token,
            amount: intent.amount, currency: intent.currency)
        if let reference { intent.paymentMethod = try paymentMethod(reference).id }
        if let captureMethod { intent.captureMethod = captureMethod }
        if options.returnURL != nil { intent.returnURL = options.returnURL }
        try confirm(&intent, options)
        return intent.json
    }

    /// The checks a confirmation must pass before anything changes (they are not stored for replay).
    func checkConfirmable(
        automatic: Bool, allowRedirects: Bool, returnURL: String?, reference: String?, token: String?, amount: Int64, currency: String
    ) throws(StripeError) {
        if let token {
            guard reference == nil else {
                throw StripeError.invalidRequest(
                    "You cannot provide both payment_method and shared_payment_granted_token.", code: "parameter_invalid",
                    param: "shared_payment_granted_token")
            }
            try checkToken(token, amount: amount, currency: currency)
        } else if reference == nil {
            throw StripeError.invalidRequest(
                "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent, provide a payment_method.",
                code: "payment_intent_unexpected_state", param: "payment_method")
        }
        if automatic && allowRedirects && returnURL == nil {
            throw StripeError.invalidRequest(
                "This PaymentIntent is configured to accept payment methods enabled in your Dashboard, some of which may require a full page redirect to succeed. If you do not want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents. If you do want to accept redirect-based payment methods, set the `return_url` parameter when confirming a PaymentIntent.",
                code: "parameter_missing", param: "return_url")
        }
    }

    /// Spends the token if any, then tries the card: approve, decline (402) or ask for 3-D Secure.
    func confirm(_ intent: inout PaymentIntent, _ options: ConfirmOptions) throws(StripeError) {
        if let id = options.token, var token = state.tokens[id] {
            token.usedBy = intent.id
            put(.token(token))
            intent.sharedPaymentGrantedToken = id
            intent.paymentMethod = token.paymentMethod
        }
        intent.offSession = options.offSession
        guard let methodID = intent.paymentMethod, let method = state.paymentMethods[methodID] else {
            throw StripeError.missingParameter("payment_method")
        }
        switch method.card.outcome {
        case .threeDSecure where options.offSession:
            try decline(
                &intent, method, code: "authentication_required", declineCode: "authentication_required",
                message: "Your card was declined. This transaction requires authentication.")
        case .threeDSecure:
            intent.status = .requiresAction
            intent.nextAction =
                intent.returnURL.map { url -> JSON in
                    [
                        "type": "redirect_to_url",
                        "redirect_to_url": [
                            "url": .string("https://hooks.stripe.com/3d_secure_2/hosted/\(intent.id)"), "return_url": .string(url),
                        ],
                    ]
                } ?? ["type": "use_stripe_sdk", "use_stripe_sdk": ["type": "three_d_secure_redirect", "source": .string(method.id)]]
            put(.paymentIntent(intent))
            emit("payment_intent.requires_action", intent.json)
        case .decline:
            try decline(
                &intent, method, code: method.card.errorCode ?? "card_declined", declineCode: method.card.declineCode,
                message: method.card.declineMessage)
        case .approve, .approveAvailable, .dispute:
            approve(&intent, method)
        }
    }

    /// An approved authorization: a charge, captured now unless `capture_method=manual`.
    func approve(_ intent: inout PaymentIntent, _ method: PaymentMethod) {
        var charge = Charge(
            id: Self.newID("ch"), created: now, amount: intent.amount, currency: intent.currency, status: "succeeded",
            outcome: [
                "network_status": "approved_by_network", "reason": nil, "risk_level": "normal", "risk_score": 20,
                "seller_message": "Payment complete.", "type": "authorized",
            ], paymentIntent: intent.id, paymentMethod: method.id, paymentMethodDetails: method.chargeDetails,
            customer: intent.customer, description: intent.description, metadata: intent.metadata)
        intent.latestCharge = charge.id
        intent.lastPaymentError = nil
        intent.nextAction = nil
        if intent.captureMethod == "manual" {
            intent.status = .requiresCapture
            intent.amountCapturable = intent.amount
            put(.charge(charge))
            put(.paymentIntent(intent))
            emit("charge.succeeded", charge.json)
            emit("payment_intent.amount_capturable_updated", intent.json)
            return
        }
        let transaction = book(&charge, amount: intent.amount, card: method.card, attachLater: intent.captureMethod == "automatic_async")
        intent.status = .succeeded
        intent.amountReceived = intent.amount
        put(.charge(charge))
        put(.paymentIntent(intent))
        emit("charge.succeeded", charge.json)
        emit("payment_intent.succeeded", intent.json)
        if transaction.status == "available" { emit("balance.available", balance()) }
        if method.card.outcome == .dispute { _ = openDispute(on: charge.id, amount: charge.amount, reason: "fraudulent") }
    }

    /// Captures `amount` of `charge` and writes its balance transaction (pending until `available_on`).
    func book(_ charge: inout Charge, amount: Int64, card: TestCard, attachLater: Bool = false) -> BalanceTransaction {
        let delay = card.outcome == .approveAvailable ? 0 : configuration.settlementDelayDays * 86_400
        let transaction = BalanceTransaction(
            id: Self.newID("txn"), created: now, amount: amount, fee: state.fees.fee(amount: amount, currency: charge.currency),
            currency: charge.currency, availableOn: now + delay, status: delay == 0 ? "available" : "pending", type: "charge",
            reportingCategory: "charge", source: charge.id, description: charge.description)
        put(.balanceTransaction(transaction))
        charge.captured = true
        charge.amountCaptured = amount
        charge.amountRefunded += charge.amount - amount
        if attachLater {
            put(.asyncAttach(state.asyncAttach + [charge.id + " " + transaction.id]))
        } else {
            charge.balanceTransaction = transaction.id
        }
        return transaction
    }

    /// A declined attempt: failed charge, intent back to `requires_payment_method`, 402 to the caller.
    func decline(
        _ intent: inout PaymentIntent, _ method: PaymentMethod, code: String, declineCode: String?, message: String
    ) throws(StripeError) {
        let charge = Charge(
            id: Self.newID("ch"), created: now, amount: intent.amount, currency: intent.currency, status: "failed", failureCode: code,
            failureMessage: message,
            outcome: [
                "network_status": "declined_by_network", "reason": .from(declineCode), "risk_level": "normal", "risk_score": 20,
                "seller_message": "The bank did not return any further details with this decline.", "type": "issuer_declined",
            ], paymentIntent: intent.id, paymentMethod: method.id, paymentMethodDetails: method.chargeDetails,
            customer: intent.customer, description: intent.description, metadata: intent.metadata)
        intent.status = .requiresPaymentMethod
        intent.latestCharge = charge.id
        intent.paymentMethod = nil
        intent.nextAction = nil
        var error: [String: JSON] = [
            "type": "card_error", "code": .string(code), "message": .string(message), "charge": .string(charge.id),
            "payment_method": method.json,
            "doc_url": .string("https://stripe.com/docs/error-codes/\(code.replacingOccurrences(of: "_", with: "-"))"),
        ]
        if let declineCode { error["decline_code"] = .string(declineCode) }
        intent.lastPaymentError = .object(error)
        put(.charge(charge))
        put(.paymentIntent(intent))
        emit("charge.failed", charge.json)
        emit("payment_intent.payment_failed", intent.json)
        throw StripeError(
            status: .paymentRequired, type: "card_error", code: code, declineCode: declineCode, message: message,
            extra: ["charge": .string(charge.id), "payment_intent": intent.json, "payment_method": method.json])
    }

    /// `POST /_mock/payment_intents/{id}/authenticate outcome=succeed|fail`: the customer's 3-D Secure answer.
    func authenticate(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        let outcome = try p.oneOf("outcome", ["succeed", "fail"]) ?? "succeed"
        try p.finish()
        guard var intent = state.paymentIntents[id] else { throw StripeError.noSuch("payment_intent", id) }
        guard intent.status == .requiresAction, let methodID = intent.paymentMethod, let method = state.paymentMethods[methodID] else {
            throw unexpectedState(intent, action: "authenticate")
        }
        if outcome == "succeed" {
            approve(&intent, method)
            return intent.json
        }
        intent.status = .requiresPaymentMethod
        intent.paymentMethod = nil
        intent.nextAction = nil
        intent.lastPaymentError = [
            "type": "invalid_request_error", "code": "payment_intent_authentication_failure",
            "message":
                "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
            "payment_method": method.json,
        ]
        put(.paymentIntent(intent))
        emit("payment_intent.payment_failed", intent.json)
        return intent.json
    }

    // MARK: Capture and cancel

    func capturePaymentIntent(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        guard var intent = state.paymentIntents[id] else { throw StripeError.noSuch("payment_intent", id) }
        let requested = try p.int("amount_to_capture")
        _ = try p.bool("final_capture")
        for ignored in ["statement_descriptor", "statement_descriptor_suffix", "application_fee_amount"] { _ = try p.string(ignored) }
        intent.metadata = try p.metadata(merging: intent.metadata)
        try p.finish()
        guard intent.status == .requiresCapture, let chargeID = intent.latestCharge, var charge = state.charges[chargeID],
            let method = state.paymentMethods[charge.paymentMethod]
        else { throw unexpectedState(intent, action: "capture") }
        let amount = requested ?? intent.amountCapturable
        guard amount > 0, amount <= intent.amountCapturable else {
            throw StripeError.invalidRequest(
                "The amount_to_capture (\(amount)) must be a positive integer no greater than amount_capturable (\(intent.amountCapturable)).",
                code: "amount_too_large", param: "amount_to_capture")
        }
        _ = book(&charge, amount: amount, card: method.card)
        intent.status = .succeeded
        intent.amountReceived = amount
        intent.amountCapturable = 0
        put(.charge(charge))
        put(.paymentIntent(intent))
        emit("charge.captured", charge.json)
        emit("payment_intent.succeeded", intent.json)
        if method.card.outcome == .approveAvailable { emit("balance.available", balance()) }
        if method.card.outcome == .dispute { _ = openDispute(on: charge.id, amount: amount, reason: "fraudulent") }
        return intent.json
    }

    func cancelPaymentIntent(_ id: String, _ p: inout Params) throws(StripeError) -> JSON {
        let reason =
            try p.oneOf("cancellation_reason", ["abandoned", "duplicate", "fraudulent", "requested_by_customer"]) ?? nil
        try p.finish()
        guard var intent = state.paymentIntents[id] else { throw StripeError.noSuch("payment_intent", id) }
        let cancelable: Set<PaymentIntent.Status> = [
            .requiresPaymentMethod, .requiresConfirmation, .requiresAction, .requiresCapture, .processing,
        ]
        guard cancelable.contains(intent.status) else { throw unexpectedState(intent, action: "cancel") }
        cancel(&intent, reason: reason, expired: false)
        return intent.json
    }

    /// Cancels, releasing an uncaptured authorization (`charge.refunded`, or `charge.expired` on expiry).
    func cancel(_ intent: inout PaymentIntent, reason: String?, expired: Bool) {
        if intent.status == .requiresCapture, let chargeID = intent.latestCharge, var charge = state.charges[chargeID] {
            let before = charge.json
            charge.amountRefunded = charge.amount
            put(.charge(charge))
            if expired { emit("charge.expired", charge.json) } else { emitChange("charge.refunded", before: before, after: charge.json) }
        }
        intent.status = .canceled
        intent.amountCapturable = 0
        intent.canceledAt = now
        intent.cancellationReason = reason
        intent.nextAction = nil
        put(.paymentIntent(intent))
        emit("payment_intent.canceled", intent.json)
    }

    func unexpectedState(_ intent: PaymentIntent, action: String) -> StripeError {
        StripeError.state(
            "payment_intent_unexpected_state",
            "You cannot \(action) this PaymentIntent because it has a status of \(intent.status.rawValue).",
            extra: ["payment_intent": intent.json])
    }
}
