import Foundation
import Ledger
import Logging
import RailKit

/// Turns one processor event into the card fund flow's events. The event's object is the state
/// at that moment; amounts with fees come from the balance transactions it names, fetched here.
/// Events may come in any order and any number of times: each rail event's key is the
/// processor's own id of the movement, so a second booking writes nothing.
struct CardEventTranslator: Sendable {
    let rail: CardRail

    private var processor: ProcessorClient { rail.processor }

    func translate(_ event: ProcessorEvent) async throws(RailError) -> [RailEvent] {
        let object = event.data.object
        switch event.type {
        case "payment_intent.amount_capturable_updated", "payment_intent.succeeded", "payment_intent.canceled":
            return try await intentEvents(object)

        case "charge.succeeded", "charge.captured", "charge.updated":
            guard object.captured == true, let txn = object.balanceTransaction else { return [] }
            let bt: BalanceTransaction = try await processor.get("/v1/balance_transactions/\(txn)")
            return try btEvent("captured", bt, ["amount": bt.amount, "fee": bt.fee, "net": bt.net], parent: object.paymentIntent)
                .map { [$0] } ?? []

        case "refund.created", "refund.updated", "charge.refund.updated":
            guard object.status == "succeeded" || object.status == "pending", let txn = object.balanceTransaction else { return [] }
            let bt: BalanceTransaction = try await processor.get("/v1/balance_transactions/\(txn)")
            var events = try btEvent("refunded", bt, ["amount": -bt.amount], parent: object.paymentIntent).map { [$0] } ?? []
            if let intentID = object.paymentIntent {
                // The refund is taken from the wallet the payment funded: book that funding first,
                // whatever order the processor's events come in.
                let intent: ProcessorObject = try await processor.get("/v1/payment_intents/\(intentID)")
                events += try await intentEvents(intent)
                if let charged = try intentEvent(
                    "refund_charged", intent, amount: object.amount ?? 0, reference: object.id, currency: object.currency,
                    created: object.created)
                {
                    events.append(charged)
                }
            }
            return events

        case let type where type.hasPrefix("charge.dispute."):
            var events: [RailEvent] = []
            for bt in object.balanceTransactions ?? [] {
                if bt.amount < 0 {
                    if let e = try btEvent("disputed", bt, ["amount": -bt.amount, "fee": bt.fee, "net": -bt.net], parent: object.charge) {
                        events.append(e)
                    }
                } else if let e = try btEvent("dispute_won", bt, ["amount": bt.amount], parent: object.charge) {
                    events.append(e)
                }
            }
            if object.status == "lost", let asset = asset(object.currency, object.id) {
                events.append(
                    RailEvent(
                        transition: "dispute_lost", reference: object.id, parentReference: object.charge, asset: asset,
                        amounts: ["amount": UInt256(UInt64(max(0, object.amount ?? 0)))], occurredAt: time(object.created)))
            }
            return events

        case let type where type.hasPrefix("payout."):
            return try await payoutEvents(event, object)

        default:
            return []
        }
    }

    /// What a payment intent's current state books: its authorization, then its capture and
    /// release or its top-up. Each is keyed by the intent, so a state seen again books nothing,
    /// and a later state books the earlier ones it implies when their own events come late.
    private func intentEvents(_ intent: ProcessorObject) async throws(RailError) -> [RailEvent] {
        let amount = intent.amount ?? 0
        let received = intent.amountReceived ?? 0
        var events: [RailEvent?] = []
        if intent.captureMethod == "manual" {
            switch intent.status {
            case "requires_capture":
                events.append(try intentEvent("authorized", intent, amount: intent.amountCapturable ?? amount))
            case "succeeded":
                events.append(try intentEvent("authorized", intent, amount: amount))
                events.append(try intentEvent("limit_captured", intent, amount: received))
                events.append(try intentEvent("limit_released", intent, amount: max(0, amount - received)))
            case "canceled":
                // Only an authorization that was granted holds money to release.
                guard let chargeID = intent.latestCharge else { return [] }
                let charge: ProcessorObject = try await processor.get("/v1/charges/\(chargeID)")
                guard charge.status == "succeeded", charge.captured == false else { return [] }
                events.append(try intentEvent("authorized", intent, amount: amount))
                events.append(try intentEvent("limit_released", intent, amount: amount))
            default:
                break
            }
        } else if intent.status == "succeeded" {
            events.append(try intentEvent("topped_up", intent, amount: received))
        }
        return events.compactMap { $0 }
    }

    private func payoutEvents(_ event: ProcessorEvent, _ payout: ProcessorObject) async throws(RailError) -> [RailEvent] {
        var events: [RailEvent] = []
        // What the payout settles became available: the processor lists exactly those.
        var after: String?
        var more = true
        while more {
            var parameters = [("payout", payout.id), ("limit", "100")]
            if let after { parameters.append(("starting_after", after)) }
            let page: ProcessorList<BalanceTransaction> = try await processor.get("/v1/balance_transactions", parameters)
            for bt in page.data where !bt.type.hasPrefix("payout") {
                let transition = bt.net >= 0 ? "available" : "available_negative"
                if let e = try btEvent(transition, bt, ["amount": bt.net.magnitude.int64], parent: payout.id) { events.append(e) }
            }
            more = page.hasMore
            after = page.data.last?.id
        }
        if let txn = payout.balanceTransaction {
            let bt: BalanceTransaction = try await processor.get("/v1/balance_transactions/\(txn)")
            if let e = try btEvent("paid_out", bt, ["amount": -bt.amount], parent: payout.id) { events.append(e) }
        }
        if payout.status == "paid", let e = try payoutEvent("payout_arrived", payout, at: time(payout.arrivalDate ?? payout.created)) {
            events.append(e)
        }
        if payout.status == "failed" {
            if let txn = payout.failureBalanceTransaction {
                let bt: BalanceTransaction = try await processor.get("/v1/balance_transactions/\(txn)")
                if let e = try btEvent("payout_failed", bt, ["amount": bt.amount], parent: payout.id) { events.append(e) }
            }
            if event.data.previousAttributes?["status"]?.string == "paid",
                let e = try payoutEvent("payout_returned", payout, at: time(payout.created))
            {
                events.append(e)
            }
        }
        return events
    }

    private func payoutEvent(_ transition: String, _ payout: ProcessorObject, at: Date) throws(RailError) -> RailEvent? {
        guard let asset = asset(payout.currency, payout.id) else { return nil }
        return RailEvent(
            transition: transition, reference: payout.id, asset: asset, amounts: ["amount": UInt256(UInt64(max(0, payout.amount ?? 0)))],
            occurredAt: at)
    }

    /// An event of a payment intent, bound to the wallet its `settle_wallet` metadata names, at the
    /// intent's creation (deterministic, so every delivery renders the same transfer).
    private func intentEvent(
        _ transition: String, _ intent: ProcessorObject, amount: Int64, reference: String? = nil, currency: String? = nil,
        created: Int64? = nil
    ) throws(RailError) -> RailEvent? {
        guard amount > 0, let asset = asset(currency ?? intent.currency, intent.id) else { return nil }
        var metadata: Metadata = ["payment_intent": .string(intent.id)]
        if let mode = intent.metadata?["settle_mode"] { metadata["settle_mode"] = .string(mode) }
        return RailEvent(
            transition: transition, reference: reference ?? intent.id, parentReference: reference == nil ? nil : intent.id, asset: asset,
            amounts: ["amount": UInt256(UInt64(amount))], bindings: ["wallet": wallet(intent, asset: asset)],
            occurredAt: time(created ?? intent.created), metadata: metadata)
    }

    private func time(_ unix: Int64?) -> Date {
        Date(timeIntervalSince1970: TimeInterval(unix ?? 0))
    }

    /// An event of a balance transaction: its amounts as the processor booked them.
    private func btEvent(_ transition: String, _ bt: BalanceTransaction, _ amounts: [String: Int64], parent: String?) throws(RailError)
        -> RailEvent?
    {
        guard let asset = asset(bt.currency, bt.id) else { return nil }
        var values: [String: UInt256] = [:]
        for (name, value) in amounts {
            guard value >= 0 else {
                throw RailError(.invalidEvent, "balance transaction \(bt.id): \(name) \(value) has the wrong sign for \(transition)")
            }
            values[name] = UInt256(UInt64(value))
        }
        return RailEvent(
            transition: transition, reference: bt.id, parentReference: parent, asset: asset, amounts: values,
            occurredAt: Date(timeIntervalSince1970: TimeInterval(bt.created)), metadata: ["balance_transaction_type": .string(bt.type)])
    }

    private func wallet(_ intent: ProcessorObject, asset: AssetID) -> String {
        intent.metadata?["settle_wallet"] ?? rail.defaultWallet ?? "card:\(asset.rawValue):unallocated"
    }

    /// The ledger asset of `currency`; an unknown currency is logged and not booked, so the
    /// reconciler reports the processor's record as one the ledger lacks.
    private func asset(_ currency: String?, _ id: String) -> AssetID? {
        guard let currency, let asset = rail.assets[currency] else {
            rail.logger.error(
                "card object in a currency the rail is not configured for", metadata: ["id": "\(id)", "currency": "\(currency ?? "none")"])
            return nil
        }
        return asset
    }
}

extension UInt64 {
    fileprivate var int64: Int64 { Int64(clamping: self) }
}
