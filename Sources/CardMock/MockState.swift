/// Everything the mock knows. Owned by ``CardMockStore``; rebuilt from the journal at start.
struct MockState: Sendable {
    var clock: MockClock
    var fees: FeeSchedule
    var paymentMethods: [String: PaymentMethod] = [:]
    var paymentIntents: [String: PaymentIntent] = [:]
    var charges: [String: Charge] = [:]
    var refunds: [String: Refund] = [:]
    var balanceTransactions: [String: BalanceTransaction] = [:]
    var payouts: [String: Payout] = [:]
    var disputes: [String: Dispute] = [:]
    var events: [String: Event] = [:]
    var webhookEndpoints: [String: WebhookEndpoint] = [:]
    var deliveries: [String: WebhookDelivery] = [:]
    var tokens: [String: SharedPaymentToken] = [:]
    var idempotency: [String: IdempotencyRecord] = [:]
    var asyncAttach: [String] = []
    /// Ids per object prefix in creation order: lists are this, newest first.
    var order: [String: [String]] = [:]
    /// Deliveries not yet delivered or given up; kept apart so the deliverer never scans history.
    var pendingDeliveries: Set<String> = []

    init(clock: MockClock, fees: FeeSchedule) {
        self.clock = clock
        self.fees = fees
    }

    mutating func apply(_ record: JournalRecord) {
        switch record {
        case .clock(let clock): self.clock = clock
        case .fees(let fees): self.fees = fees
        case .paymentMethod(let value): added(paymentMethods.updateValue(value, forKey: value.id) == nil, value.id)
        case .paymentIntent(let value): added(paymentIntents.updateValue(value, forKey: value.id) == nil, value.id)
        case .charge(let value): added(charges.updateValue(value, forKey: value.id) == nil, value.id)
        case .refund(let value): added(refunds.updateValue(value, forKey: value.id) == nil, value.id)
        case .balanceTransaction(let value): added(balanceTransactions.updateValue(value, forKey: value.id) == nil, value.id)
        case .payout(let value): added(payouts.updateValue(value, forKey: value.id) == nil, value.id)
        case .dispute(let value): added(disputes.updateValue(value, forKey: value.id) == nil, value.id)
        case .event(let value): added(events.updateValue(value, forKey: value.id) == nil, value.id)
        case .webhookEndpoint(let value): added(webhookEndpoints.updateValue(value, forKey: value.id) == nil, value.id)
        case .webhookEndpointDeleted(let id):
            webhookEndpoints[id] = nil
            order["we", default: []].removeAll { $0 == id }
        case .delivery(let value):
            added(deliveries.updateValue(value, forKey: value.id) == nil, value.id)
            if value.status == "pending" { pendingDeliveries.insert(value.id) } else { pendingDeliveries.remove(value.id) }
        case .token(let value): added(tokens.updateValue(value, forKey: value.id) == nil, value.id)
        case .idempotency(let value): idempotency[value.scope] = value
        case .idempotencyPruned(let scope): idempotency[scope] = nil
        case .asyncAttach(let ids): asyncAttach = ids
        }
    }

    /// Tables are updated in place (a key path or `inout` helper would copy them on every change).
    private mutating func added(_ isNew: Bool, _ id: String) {
        if isNew { order[Self.prefix(of: id), default: []].append(id) }
    }

    /// `pi_abc` → `pi`.
    static func prefix(of id: String) -> String {
        id.firstIndex(of: "_").map { String(id[..<$0]) } ?? id
    }

    /// The records that rebuild this state, in creation order per kind.
    var snapshot: [JournalRecord] {
        var records: [JournalRecord] = [.clock(clock), .fees(fees)]
        func each<Value>(_ prefix: String, _ table: [String: Value], _ make: (Value) -> JournalRecord) {
            for id in order[prefix] ?? [] { if let value = table[id] { records.append(make(value)) } }
        }
        each("pm", paymentMethods, JournalRecord.paymentMethod)
        each("pi", paymentIntents, JournalRecord.paymentIntent)
        each("ch", charges, JournalRecord.charge)
        each("re", refunds, JournalRecord.refund)
        each("txn", balanceTransactions, JournalRecord.balanceTransaction)
        each("po", payouts, JournalRecord.payout)
        each("dp", disputes, JournalRecord.dispute)
        each("evt", events, JournalRecord.event)
        each("we", webhookEndpoints, JournalRecord.webhookEndpoint)
        each("whd", deliveries, JournalRecord.delivery)
        each("spt", tokens, JournalRecord.token)
        for record in idempotency.values.sorted(by: { $0.created < $1.created }) { records.append(.idempotency(record)) }
        if !asyncAttach.isEmpty { records.append(.asyncAttach(asyncAttach)) }
        return records
    }
}
