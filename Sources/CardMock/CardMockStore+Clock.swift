import Logging

/// The mock clock and the work it makes due: availability, authorization expiry, payouts.
extension CardMockStore {
    var clockJSON: JSON {
        [
            "object": "mock_clock", "now": .int(now), "offset": .int(state.clock.offset),
            "next_payout_at": .int(state.clock.nextPayoutAt), "settlement_delay_days": .int(configuration.settlementDelayDays),
        ]
    }

    /// `POST /_mock/clock/advance seconds=N` (or `to=<unix>`): runs everything due on the way, at the
    /// time it falls due, then moves the clock.
    func advanceClock(_ p: inout Params) throws(StripeError) -> JSON {
        let seconds = try p.int("seconds")
        let target = try p.int("to")
        try p.finish()
        let start = now
        let by: Int64
        switch (seconds, target) {
        case (let seconds?, nil): by = seconds
        case (nil, let target?): by = target - start
        default: throw StripeError.invalidRequest("Send exactly one of seconds or to.", code: "parameter_missing", param: "seconds")
        }
        guard by >= 0 else {
            throw StripeError.invalidRequest("The mock clock only moves forward.", code: "parameter_invalid", param: "seconds")
        }
        runDue(until: start + by)
        var clock = state.clock
        clock.offset += by
        put(.clock(clock))
        return clockJSON
    }

    /// Runs due work as real time passes; the ticker calls it.
    func tick() async {
        runDue(until: now)
        pruneIdempotency()
        let sequence = commit()
        do {
            try await journal.sync(sequence)
        } catch {
            logger.error("journal sync failed", metadata: ["error": "\(error)"])
        }
    }

    /// Processes every due item up to `target` in time order, each at its own due time.
    func runDue(until target: Int64) {
        // What falls due is Stripe's doing, not the caller's: its events carry no request.
        let caller = request
        request = nil
        defer { request = caller }
        attachAsyncBalanceTransactions()
        // Work overdue before this call (the server was stopped) happens now, not in the past.
        let floor = now
        defer { processingAt = nil }
        // Bounded: every pass retires at least one due item or moves the payout cursor a day.
        for _ in 0..<100_000 {
            guard let due = nextDueTime(), due <= target else { return }
            processingAt = max(due, processingAt ?? floor)
            runDue(at: processingAt!)
        }
        logger.warning("due work not finished within the pass limit", metadata: ["until": "\(target)"])
    }

    private func nextDueTime() -> Int64? {
        var due = state.clock.nextPayoutAt
        for transaction in state.balanceTransactions.values where transaction.status == "pending" {
            due = min(due, transaction.availableOn)
        }
        for intent in state.paymentIntents.values where intent.status == .requiresCapture {
            due = min(due, intent.created + 7 * 86_400)
        }
        for payout in state.payouts.values {
            if payout.status == "pending" { due = min(due, payout.created + 3_600) }
            if payout.status == "in_transit" { due = min(due, payout.arrivalDate) }
        }
        return due
    }

    private func runDue(at time: Int64) {
        var madeAvailable = false
        for id in state.order["txn"] ?? [] {
            guard var transaction = state.balanceTransactions[id], transaction.status == "pending", transaction.availableOn <= time else {
                continue
            }
            transaction.status = "available"
            put(.balanceTransaction(transaction))
            madeAvailable = true
        }
        if madeAvailable { emit("balance.available", balance()) }
        for id in state.order["pi"] ?? [] {
            guard var intent = state.paymentIntents[id], intent.status == .requiresCapture, intent.created + 7 * 86_400 <= time else {
                continue
            }
            cancel(&intent, reason: "automatic", expired: true)
        }
        for id in state.order["po"] ?? [] {
            guard var payout = state.payouts[id] else { continue }
            let before = payout.json
            if payout.status == "pending", payout.created + 3_600 <= time {
                payout.status = "in_transit"
                put(.payout(payout))
                emitChange("payout.updated", before: before, after: payout.json)
            } else if payout.status == "in_transit", payout.arrivalDate <= time {
                payout.status = "paid"
                if payout.automatic { payout.reconciliationStatus = "completed" }
                put(.payout(payout))
                emit("payout.paid", payout.json)
                emitChange("payout.updated", before: before, after: payout.json)
                if payout.automatic { emit("payout.reconciliation_completed", payout.json) }
            }
        }
        if state.clock.nextPayoutAt <= time {
            _ = runAutomaticPayouts()
            var clock = state.clock
            while clock.nextPayoutAt <= time { clock.nextPayoutAt += 86_400 }
            put(.clock(clock))
        }
    }

    /// `automatic_async` charges get their balance transaction a moment after the intent succeeded.
    private func attachAsyncBalanceTransactions() {
        guard !state.asyncAttach.isEmpty else { return }
        for pair in state.asyncAttach {
            let parts = pair.split(separator: " ").map(String.init)
            guard parts.count == 2, var charge = state.charges[parts[0]] else { continue }
            let before = charge.json
            charge.balanceTransaction = parts[1]
            put(.charge(charge))
            emitChange("charge.updated", before: before, after: charge.json)
        }
        put(.asyncAttach([]))
    }
}
