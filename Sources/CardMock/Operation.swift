/// Every operation the mock serves, API and helper alike; the router maps paths to these.
enum Operation: Sendable, Hashable {
    case createPaymentMethod
    case retrievePaymentMethod(String)
    case createPaymentIntent
    case retrievePaymentIntent(String)
    case updatePaymentIntent(String)
    case listPaymentIntents
    case confirmPaymentIntent(String)
    case capturePaymentIntent(String)
    case cancelPaymentIntent(String)
    case retrieveCharge(String)
    case listCharges
    case createRefund
    case retrieveRefund(String)
    case listRefunds
    case retrieveBalanceTransaction(String)
    case listBalanceTransactions
    case retrieveBalance
    case createPayout
    case retrievePayout(String)
    case listPayouts
    case cancelPayout(String)
    case retrieveDispute(String)
    case updateDispute(String)
    case closeDispute(String)
    case listDisputes
    case retrieveEvent(String)
    case listEvents
    case createWebhookEndpoint
    case retrieveWebhookEndpoint(String)
    case updateWebhookEndpoint(String)
    case deleteWebhookEndpoint(String)
    case listWebhookEndpoints
    case createSharedPaymentToken
    case retrieveSharedPaymentToken(String)
    case deactivateSharedPaymentToken(String)
    // Mock helpers (`/_mock/...`).
    case readClock
    case advanceClock
    case runPayouts
    case failPayout(String)
    case openDispute
    case winDispute(String)
    case loseDispute(String)
    case authenticate(String)
    case readFeeSchedule
    case setFeeSchedule
    case adjustFee(String)
    case listDeliveries
}

extension CardMockStore {
    func run(_ operation: Operation, _ p: inout Params) throws(StripeError) -> JSON {
        switch operation {
        case .createPaymentMethod: return try createPaymentMethod(&p)
        case .retrievePaymentMethod(let id): return try retrieve(id, kind: "payment_method", &p)
        case .createPaymentIntent: return try createPaymentIntent(&p)
        case .retrievePaymentIntent(let id): return try retrieve(id, kind: "payment_intent", &p, lenient: ["client_secret"])
        case .updatePaymentIntent(let id): return try updatePaymentIntent(id, &p)
        case .listPaymentIntents: return try listPaymentIntents(&p)
        case .confirmPaymentIntent(let id): return try confirmPaymentIntent(id, &p)
        case .capturePaymentIntent(let id): return try capturePaymentIntent(id, &p)
        case .cancelPaymentIntent(let id): return try cancelPaymentIntent(id, &p)
        case .retrieveCharge(let id): return try retrieve(id, kind: "charge", &p)
        case .listCharges: return try listCharges(&p)
        case .createRefund: return try createRefund(&p)
        case .retrieveRefund(let id): return try retrieve(id, kind: "refund", &p)
        case .listRefunds: return try listRefunds(&p)
        case .retrieveBalanceTransaction(let id): return try retrieve(id, kind: "balance_transaction", &p)
        case .listBalanceTransactions: return try listBalanceTransactions(&p)
        case .retrieveBalance:
            try p.finish()
            return balance()
        case .createPayout: return try createPayout(&p)
        case .retrievePayout(let id): return try retrieve(id, kind: "payout", &p)
        case .listPayouts: return try listPayouts(&p)
        case .cancelPayout(let id): return try cancelPayout(id, &p)
        case .retrieveDispute(let id): return try retrieve(id, kind: "dispute", &p)
        case .updateDispute(let id): return try updateDispute(id, &p)
        case .closeDispute(let id): return try closeDispute(id, &p, outcome: "lost")
        case .listDisputes: return try listDisputes(&p)
        case .retrieveEvent(let id): return try retrieve(id, kind: "event", &p)
        case .listEvents: return try listEvents(&p)
        case .createWebhookEndpoint: return try createWebhookEndpoint(&p)
        case .retrieveWebhookEndpoint(let id): return try retrieve(id, kind: "webhook_endpoint", &p)
        case .updateWebhookEndpoint(let id): return try updateWebhookEndpoint(id, &p)
        case .deleteWebhookEndpoint(let id): return try deleteWebhookEndpoint(id, &p)
        case .listWebhookEndpoints: return try listWebhookEndpoints(&p)
        case .createSharedPaymentToken: return try createSharedPaymentToken(&p)
        case .retrieveSharedPaymentToken(let id): return try retrieve(id, kind: "shared_payment.granted_token", &p)
        case .deactivateSharedPaymentToken(let id): return try deactivateSharedPaymentToken(id, &p)
        case .readClock:
            try p.finish()
            return clockJSON
        case .advanceClock: return try advanceClock(&p)
        case .runPayouts:
            let currency = try p.nonEmpty("currency")?.lowercased()
            try p.finish()
            let payouts = runAutomaticPayouts(currency: currency)
            return listJSON(url: "/_mock/payouts/run", items: payouts.map(\.json), hasMore: false)
        case .failPayout(let id): return try failPayout(id, &p)
        case .openDispute: return try openDispute(&p)
        case .winDispute(let id): return try winDispute(id, &p)
        case .loseDispute(let id): return try closeDispute(id, &p, outcome: "lost", helper: true)
        case .authenticate(let id): return try authenticate(id, &p)
        case .readFeeSchedule:
            try p.finish()
            return state.fees.json
        case .setFeeSchedule: return try setFeeSchedule(&p)
        case .adjustFee(let id): return try adjustFee(id, &p)
        case .listDeliveries: return try listDeliveries(&p)
        }
    }

    /// `GET /v1/<kind>s/{id}`.
    func retrieve(_ id: String, kind: String, _ p: inout Params, lenient: [String] = []) throws(StripeError) -> JSON {
        for name in lenient { _ = try p.string(name) }
        try p.finish()
        guard let json = render(id), json["object"]?.string == kind else { throw StripeError.noSuch(kind, id) }
        return json
    }
}
