import Foundation
import Ledger
import RailKit

/// Payments the card rail starts on the processor. None of them writes to the ledger: the
/// processor's events and balance transactions come back through ingest and are booked from there,
/// so the books hold only what the processor recorded.
extension CardRail {
    /// What the processor said of a payment intent.
    public struct IntentState: Sendable, Hashable {
        public var id: String
        public var status: String
        public var amount: Int64
        public var amountCapturable: Int64
        public var amountReceived: Int64
    }

    /// One charge of `amount` minor units funds `wallet` (prepaid top-up). Each API call the agent
    /// then makes is an internal ledger transfer from that wallet.
    public func topUp(wallet: AccountID, amount: Int64, currency: String, paymentMethod: String, idempotencyKey: String)
        async throws(RailError) -> IntentState
    {
        try await createIntent(
            wallet: wallet, amount: amount, currency: currency, paymentMethod: paymentMethod, capture: "automatic", mode: "topup",
            idempotencyKey: idempotencyKey)
    }

    /// Authorizes `amount` on the card without capturing it. Once the processor reports the
    /// authorization, the ledger credits `wallet` with the limit (against the `authorized` clearing
    /// account) and each call draws on it; ``captureUsed(paymentIntent:wallet:authorized:ledger:)``
    /// captures the sum. Give each authorization a wallet of its own.
    public func authorizeLimit(wallet: AccountID, amount: Int64, currency: String, paymentMethod: String, idempotencyKey: String)
        async throws(RailError) -> IntentState
    {
        try await createIntent(
            wallet: wallet, amount: amount, currency: currency, paymentMethod: paymentMethod, capture: "manual", mode: "limit",
            idempotencyKey: idempotencyKey)
    }

    /// Captures what the agent used of an authorization: the authorized amount less what is left in
    /// its wallet, read from the ledger. Nothing used: the authorization is cancelled instead.
    public func captureUsed(paymentIntent: String, wallet: AccountID, authorized: Int64, ledger: PostgresLedger)
        async throws(RailError) -> IntentState
    {
        let balance: Balance
        do { balance = try await ledger.balance(of: wallet) } catch { throw RailError(.ledger, "\(error)") }
        let spent = balance.debitsPosted.addingReportingOverflow(balance.debitsPending)
        let left = balance.creditsPosted.subtractingReportingOverflow(spent.partialValue)
        guard !spent.overflow, !left.overflow, let value = left.partialValue.uint64Value, let remaining = Int64(exactly: value),
            remaining <= authorized
        else {
            throw RailError(.invalidEvent, "wallet \(wallet) does not hold what is left of \(paymentIntent)")
        }
        let used = authorized - remaining
        if used == 0 {
            return try await intent(
                processor.post("/v1/payment_intents/\(paymentIntent)/cancel", [], idempotencyKey: "\(paymentIntent):release"))
        }
        return try await intent(
            processor.post(
                "/v1/payment_intents/\(paymentIntent)/capture", [("amount_to_capture", String(used))],
                idempotencyKey: "\(paymentIntent):capture:\(used)"))
    }

    private func createIntent(
        wallet: AccountID, amount: Int64, currency: String, paymentMethod: String, capture: String, mode: String, idempotencyKey: String
    ) async throws(RailError) -> IntentState {
        guard assets[currency] != nil else { throw RailError(.invalidConfiguration, "rail \(descriptor.id) takes no \(currency)") }
        guard amount > 0 else { throw RailError(.invalidEvent, "amount must be positive") }
        let object: ProcessorObject = try await processor.post(
            "/v1/payment_intents",
            [
                ("amount", String(amount)), ("currency", currency), ("payment_method", paymentMethod), ("confirm", "true"),
                ("capture_method", capture), ("payment_method_types[0]", "card"), ("metadata[settle_wallet]", wallet.rawValue),
                ("metadata[settle_mode]", mode),
            ], idempotencyKey: idempotencyKey)
        return intent(object)
    }

    private func intent(_ object: ProcessorObject) -> IntentState {
        IntentState(
            id: object.id, status: object.status ?? "", amount: object.amount ?? 0, amountCapturable: object.amountCapturable ?? 0,
            amountReceived: object.amountReceived ?? 0)
    }
}
