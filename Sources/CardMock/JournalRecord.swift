/// One change in the journal: the new version of an object (objects are small, so a changed object
/// is written whole) or a removal. A journal line is the array of records of one mutation.
enum JournalRecord: Sendable, Codable {
    case clock(MockClock)
    case fees(FeeSchedule)
    case paymentMethod(PaymentMethod)
    case paymentIntent(PaymentIntent)
    case charge(Charge)
    case refund(Refund)
    case balanceTransaction(BalanceTransaction)
    case payout(Payout)
    case dispute(Dispute)
    case event(Event)
    case webhookEndpoint(WebhookEndpoint)
    case webhookEndpointDeleted(String)
    case delivery(WebhookDelivery)
    case token(SharedPaymentToken)
    case idempotency(IdempotencyRecord)
    case idempotencyPruned(String)
    /// Charges of `automatic_async` intents whose balance transaction is not attached yet.
    case asyncAttach([String])
}

/// The mock clock: real time shifted by what the helpers advanced, plus the scheduler's cursor.
struct MockClock: Sendable, Codable, Hashable {
    /// Seconds added to the wall clock.
    var offset: Int64
    /// Mock time of the next automatic payout run.
    var nextPayoutAt: Int64
}
