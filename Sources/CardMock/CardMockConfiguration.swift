/// How to run the card processor mock.
public struct CardMockConfiguration: Sendable {
    /// Address to listen on.
    public var host: String
    /// Port to listen on; 0 picks a free one (see `onServerRunning`).
    public var port: Int
    /// Where the journal lives; nil keeps everything in memory and loses it on stop.
    public var dataDirectory: String?
    /// When set, the only API key accepted; otherwise any `sk_test_…` (or `rk_test_…`) key.
    public var apiKey: String?
    /// Delay before the first webhook retry, doubled on every further one.
    public var webhookRetryBase: Duration
    /// Longest delay between two attempts.
    public var webhookRetryMaxDelay: Duration
    /// Attempts per delivery (the first one included) before it is marked `failed`.
    public var webhookMaxAttempts: Int
    /// Time allowed for one attempt.
    public var webhookTimeout: Duration
    /// Days between capture and `available_on` (the account's `settlement_timing.delay_days`).
    public var settlementDelayDays: Int64
    /// Hour of the day (UTC, mock time) when automatic payouts run.
    public var payoutHourUTC: Int64
    /// Fees applied to captures until changed through `/_mock/fee_schedule`.
    public var feeSchedule: FeeSchedule
    /// The `api_version` of events created without a `Stripe-Version` header.
    public var defaultAPIVersion: String
    /// How often due work (availability, expiries, payouts) is checked as real time passes.
    public var tickInterval: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 12111, dataDirectory: String? = nil, apiKey: String? = nil,
        webhookRetryBase: Duration = .seconds(1), webhookRetryMaxDelay: Duration = .seconds(3600), webhookMaxAttempts: Int = 8,
        webhookTimeout: Duration = .seconds(10), settlementDelayDays: Int64 = 2, payoutHourUTC: Int64 = 0,
        feeSchedule: FeeSchedule = .standard, defaultAPIVersion: String = "2026-10-28.endive", tickInterval: Duration = .seconds(1)
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.apiKey = apiKey
        self.webhookRetryBase = webhookRetryBase
        self.webhookRetryMaxDelay = webhookRetryMaxDelay
        self.webhookMaxAttempts = webhookMaxAttempts
        self.webhookTimeout = webhookTimeout
        self.settlementDelayDays = settlementDelayDays
        self.payoutHourUTC = payoutHourUTC
        self.feeSchedule = feeSchedule
        self.defaultAPIVersion = defaultAPIVersion
        self.tickInterval = tickInterval
    }

    /// The wait before attempt `attempt + 1` after `attempt` failures: base × 2^(attempt−1), capped.
    func retryDelay(afterAttempts attempt: Int) -> Duration {
        let factor = Int64(1) << Int64(min(max(attempt - 1, 0), 30))
        let delay = webhookRetryBase * factor
        return delay < webhookRetryMaxDelay ? delay : webhookRetryMaxDelay
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
