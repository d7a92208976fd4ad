import AsyncHTTPClient
import Foundation
import Ledger
import Logging
import NIOCore
import RailKit

/// The card rail: talks to a Stripe-compatible processor through its public v1 API and webhooks
/// (the mock in tests, the real processor in production: only the base URL and keys differ).
///
/// It books from the processor's own records: authorizations and allocations from payment
/// intents, gross, fee and net from balance transactions, availability from the balance
/// transactions a payout settles, payouts from payouts. Card micropayments are never one charge
/// per call: agents either top up a wallet with one charge (``topUp(wallet:amount:currency:paymentMethod:idempotencyKey:)``)
/// or authorize a limit that each call draws on, then capture the sum once
/// (``authorizeLimit(wallet:amount:currency:paymentMethod:idempotencyKey:)``, ``captureUsed(paymentIntent:wallet:authorized:ledger:)``).
///
/// Settings (`RailConfiguration.settings`): `base_url`, `api_key` (`sk_…`), `webhook_secret`
/// (`whsec_…`, needed for webhooks), `currencies` (default `["usd"]`; asset ids `card-<currency>`
/// unless `asset_prefix` says otherwise), `default_wallet` (where payments without a
/// `settle_wallet` metadata are allocated; default `card:<asset>:unallocated`), `timeout_ms`
/// (default 10,000), `webhook_tolerance_s` (default 300).
public struct CardRail: Rail {
    public let descriptor: RailDescriptor
    let processor: ProcessorClient
    let webhookSecret: String?
    let webhookTolerance: TimeInterval
    let assets: [String: AssetID]
    let defaultWallet: String?
    let logger: Logger

    /// Minor units per major unit of the currencies the rail knows; others are refused.
    static let scales: [String: Int] = [
        "usd": 2, "eur": 2, "gbp": 2, "cad": 2, "aud": 2, "chf": 2, "sgd": 2, "jpy": 0, "krw": 0,
    ]

    /// Makes a card rail from its configuration.
    public init(configuration: RailConfiguration, http: HTTPClient = .shared, logger: Logger) throws(RailError) {
        let currencies = try configuration.strings("currencies") ?? ["usd"]
        let prefix = try configuration.optionalString("asset_prefix") ?? "card"
        var assets: [String: AssetID] = [:]
        var ledgerAssets: [Asset] = []
        for currency in currencies {
            guard let scale = Self.scales[currency] else {
                throw RailError(.invalidConfiguration, "rail \(configuration.id): unknown currency \(currency)")
            }
            let id: AssetID
            do { id = try AssetID("\(prefix)-\(currency)") } catch {
                throw RailError(.invalidConfiguration, "rail \(configuration.id): asset_prefix \(prefix) makes an invalid asset id")
            }
            assets[currency] = id
            ledgerAssets.append(Asset(id: id, code: currency.uppercased(), scale: scale, rail: "card"))
        }
        let baseURL = try configuration.string("base_url")
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else {
            throw RailError(.invalidConfiguration, "rail \(configuration.id): base_url must be an http(s) URL")
        }
        self.processor = ProcessorClient(
            http: http, baseURL: baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL, apiKey: try configuration.string("api_key"),
            timeout: .milliseconds(Int64(try configuration.int("timeout_ms", default: 10_000, in: 100...600_000))))
        self.webhookSecret = try configuration.optionalString("webhook_secret")
        self.webhookTolerance = TimeInterval(try configuration.int("webhook_tolerance_s", default: 300, in: 1...86_400))
        self.assets = assets
        self.defaultWallet = try configuration.optionalString("default_wallet")
        self.logger = logger
        var capabilities: Set<RailDescriptor.Capability> = [.pull, .statements]
        if webhookSecret != nil { capabilities.insert(.webhooks) }
        self.descriptor = RailDescriptor(
            id: configuration.id, kind: "card", summary: "card payments through a Stripe-compatible processor at \(baseURL)",
            assets: ledgerAssets, capabilities: capabilities, fundFlow: CardFundFlow.flow)
    }

    /// The registry factory for rails of kind `card`.
    public static let factory: RailRegistry.Factory = { configuration, logger throws(RailError) in
        try CardRail(configuration: configuration, logger: logger)
    }

    // MARK: - Ingest

    public func fetchNext(cursor: String?, pageSize: Int) async throws(RailError) -> RailPage {
        let size = max(1, pageSize)
        var events: [ProcessorEvent] = []
        var hasMore = false
        if let cursor {
            // Newer than the cursor, oldest first: pages of `ending_before` walk forward in time.
            var before = cursor
            repeat {
                let page: ProcessorList<ProcessorEvent> = try await processor.get(
                    "/v1/events", [("ending_before", before), ("limit", String(min(100, size - events.count)))])
                let chronological = page.data.reversed()
                events += chronological
                hasMore = page.hasMore
                guard let newest = chronological.last else { break }
                before = newest.id
            } while hasMore && events.count < size
        } else {
            // The first pull walks the whole history back to its start, once.
            var all: [ProcessorEvent] = []
            var after: String?
            repeat {
                var parameters = [("limit", "100")]
                if let after { parameters.append(("starting_after", after)) }
                let page: ProcessorList<ProcessorEvent> = try await processor.get("/v1/events", parameters)
                all += page.data
                hasMore = page.hasMore
                after = page.data.last?.id
            } while hasMore && after != nil
            let chronological = Array(all.reversed())
            events = Array(chronological.prefix(size))
            hasMore = chronological.count > size
        }
        let translated = try await translate(events)
        return RailPage(events: translated, nextCursor: events.last?.id ?? cursor, hasMore: hasMore)
    }

    public func verifyWebhook(headers: [String: String], body: [UInt8]) async throws(RailError) -> RailDelivery {
        guard let webhookSecret else { throw RailError(.unsupported, "rail \(descriptor.id) has no webhook_secret") }
        let header = headers.first { $0.key.lowercased() == "stripe-signature" }?.value
        try WebhookSignature.verify(header: header, body: body, secret: webhookSecret, tolerance: webhookTolerance, now: Date())
        let event: ProcessorEvent
        do { event = try JSONDecoder().decode(ProcessorEvent.self, from: Data(body)) } catch {
            throw RailError(.invalidEvent, "the webhook body is not an event: \(error)")
        }
        return RailDelivery(id: event.id, events: try await translate([event]))
    }

    public func statement(from: Date, to: Date, cursor: String?, pageSize: Int) async throws(RailError) -> StatementPage {
        var parameters = [
            ("created[gte]", String(Int64(from.timeIntervalSince1970.rounded(.up)))),
            ("created[lt]", String(Int64(to.timeIntervalSince1970.rounded(.up)))), ("limit", String(min(100, max(1, pageSize)))),
        ]
        if let cursor { parameters.append(("starting_after", cursor)) }
        let page: ProcessorList<BalanceTransaction> = try await processor.get("/v1/balance_transactions", parameters)
        var records: [StatementRecord] = []
        for bt in page.data {
            guard let asset = assets[bt.currency] else {
                logger.error(
                    "card balance transaction in an unknown currency", metadata: ["txn": "\(bt.id)", "currency": "\(bt.currency)"])
                continue
            }
            var details = ["available_on": String(bt.availableOn), "net": String(bt.net)]
            if let source = bt.source { details["source"] = source }
            records.append(
                StatementRecord(
                    reference: bt.id, type: bt.type, direction: bt.amount >= 0 ? .inbound : .outbound, asset: asset,
                    amount: UInt256(bt.amount.magnitude), fee: UInt256(UInt64(max(0, bt.fee))), status: bt.status,
                    occurredAt: Date(timeIntervalSince1970: TimeInterval(bt.created)), details: details))
        }
        return StatementPage(records: records, nextCursor: page.data.last?.id ?? cursor, hasMore: page.hasMore)
    }

    public func shutdown() async {}

    /// Translates events in order, with the processor look-ups of different events running
    /// concurrently.
    func translate(_ events: [ProcessorEvent]) async throws(RailError) -> [RailEvent] {
        let translator = CardEventTranslator(rail: self)
        do {
            return try await withThrowingTaskGroup(of: (Int, [RailEvent]).self) { group in
                var results = [[RailEvent]](repeating: [], count: events.count)
                var next = 0
                func start(_ index: Int) {
                    group.addTask { (index, try await translator.translate(events[index])) }
                }
                while next < min(16, events.count) {
                    start(next)
                    next += 1
                }
                while let (index, translated) = try await group.next() {
                    results[index] = translated
                    if next < events.count {
                        start(next)
                        next += 1
                    }
                }
                return results.flatMap { $0 }
            }
        } catch let error as RailError {
            throw error
        } catch {
            throw RailError(.transport, "\(error)")
        }
    }
}
