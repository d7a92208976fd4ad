/// Processing fees per currency: `percent_bps` basis points of the amount plus a `fixed` fee.
///
/// The percentage part is rounded half up to the minor unit (`(amount × bps + 5000) / 10000` in
/// integers), then the fixed part is added: usd 2000 → 58 + 30 = 88, usd 50 → 1.45 → 1 + 30 = 31.
/// Deterministic, so tests can state exact fees; the reconciler must still read `fee` from the
/// balance transaction rather than recompute it.
public struct FeeSchedule: Sendable, Codable, Hashable {
    public struct Rate: Sendable, Codable, Hashable {
        public var percentBps: Int64
        public var fixed: Int64

        public init(percentBps: Int64, fixed: Int64) {
            self.percentBps = percentBps
            self.fixed = fixed
        }
    }

    /// Rates by lowercase currency.
    public var rates: [String: Rate]
    /// The rate of currencies not in ``rates``.
    public var fallback: Rate

    /// US online cards: 2.9 % + 30 ¢ (usd); EEA cards 1.5 % + 25 (eur); 1.5 % + 20 (gbp).
    public static let standard = FeeSchedule(
        rates: ["usd": Rate(percentBps: 290, fixed: 30), "eur": Rate(percentBps: 150, fixed: 25), "gbp": Rate(percentBps: 150, fixed: 20)],
        fallback: Rate(percentBps: 290, fixed: 30))

    public init(rates: [String: Rate], fallback: Rate) {
        self.rates = rates
        self.fallback = fallback
    }

    /// The fee on a captured `amount`, never more than the amount itself.
    public func fee(amount: Int64, currency: String) -> Int64 {
        let rate = rates[currency] ?? fallback
        let percent = (amount * rate.percentBps + 5_000) / 10_000
        return min(amount, percent + rate.fixed)
    }

    var json: JSON {
        func rate(_ rate: Rate) -> JSON { ["percent_bps": .int(rate.percentBps), "fixed": .int(rate.fixed)] }
        return [
            "object": "mock_fee_schedule", "rates": .object(rates.mapValues(rate)), "fallback": rate(fallback),
        ]
    }
}
