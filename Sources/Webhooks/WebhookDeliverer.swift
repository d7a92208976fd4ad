import AsyncHTTPClient
import Crypto
import Foundation
import Ledger
import LedgerAPI
import Logging
import NIOCore
import NIOHTTP1

/// Sends the ledger's events to the registered webhook endpoints (decision 0039).
///
/// Each endpoint gets its events in position order, in batches (`{"items": [...]}`), signed with
/// its secret. A 2xx moves the endpoint's position past the batch; anything else (an error status,
/// a refused connection, a timeout) leaves it there and waits longer before the next attempt, so an
/// endpoint that is down never loses an event, never blocks a write, and never holds up the others.
/// Delivery is at least once: a batch whose acknowledgement was lost is sent again.
public struct WebhookDeliverer: Sendable {
    /// What one pass did.
    public struct Report: Sendable, Hashable, CustomStringConvertible {
        public var endpoints = 0
        public var delivered = 0
        public var failed = 0
        public var description: String { "endpoints=\(endpoints) delivered=\(delivered) failed=\(failed)" }
    }

    public let ledger: PostgresLedger
    public let http: HTTPClient
    public var batchSize: Int
    public var timeout: Duration
    /// Batches one endpoint may take in one pass, so a pass ends even while events keep coming.
    public var batchesPerPass: Int
    public var logger: Logger

    public init(
        ledger: PostgresLedger, http: HTTPClient = .shared, batchSize: Int = 100, timeout: Duration = .seconds(10),
        batchesPerPass: Int = 50, logger: Logger = Logger(label: "settle.webhooks")
    ) {
        self.ledger = ledger
        self.http = http
        self.batchSize = batchSize
        self.timeout = timeout
        self.batchesPerPass = batchesPerPass
        self.logger = logger
    }

    /// The wait after `failures` failed attempts in a row: 1 s, 2 s, 4 s, … up to an hour.
    public static func backOff(after failures: Int) -> Duration {
        .seconds(1 << min(max(failures - 1, 0), 12)).clamped(to: .seconds(1) ... .seconds(3_600))
    }

    /// Delivers to every endpoint due now, concurrently.
    public func deliverDue() async throws -> Report {
        let endpoints = try await ledger.dueWebhookEndpoints()
        var report = Report(endpoints: endpoints.count)
        try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for endpoint in endpoints {
                group.addTask { try await deliver(to: endpoint) }
            }
            for try await (delivered, failed) in group {
                report.delivered += delivered
                if failed { report.failed += 1 }
            }
        }
        return report
    }

    /// Delivers to one endpoint until it has caught up, fails, or took its batches for this pass.
    /// Returns the events it acknowledged and whether an attempt failed.
    func deliver(to endpoint: WebhookEndpoint) async throws -> (Int, Bool) {
        var cursor = endpoint.deliveredThrough
        var delivered = 0
        for _ in 0..<batchesPerPass {
            try Task.checkCancellation()
            let page = try await ledger.events(
                after: cursor, limit: batchSize, accountPrefix: endpoint.accountPrefix, types: Set(endpoint.types), scan: 1_000)
            let batch = page.events.filter(endpoint.shows)
            if batch.isEmpty {
                // Nothing this endpoint takes: move past it and read on, so that a narrow filter
                // does not crawl a page per pass behind a busy ledger.
                if page.next > cursor { try await ledger.advanceWebhookEndpoint(endpoint.id, through: page.next) }
                cursor = page.next
                if cursor >= page.head { return (delivered, false) }
                continue
            }
            switch await post(batch, to: endpoint) {
            case .success(let status):
                try await ledger.recordWebhookDelivery(endpoint.id, through: page.next, status: status)
                delivered += batch.count
                cursor = page.next
                if cursor >= page.head { return (delivered, false) }
            case .failure(let failure):
                let failures = endpoint.failures + 1
                let wait = Self.backOff(after: failures)
                logger.warning(
                    "webhook delivery failed",
                    metadata: ["endpoint": "\(endpoint.id)", "error": "\(failure.message)", "retry_in": "\(wait)"])
                try await ledger.recordWebhookFailure(endpoint.id, status: failure.status, error: failure.message, retryAfter: wait)
                return (delivered, true)
            }
        }
        return (delivered, false)
    }

    struct Failure: Error {
        var status: Int?
        var message: String
    }

    /// One signed POST; the status on a 2xx.
    private func post(_ events: [LedgerEvent], to endpoint: WebhookEndpoint) async -> Result<Int, Failure> {
        let body: [UInt8]
        do { body = try EventJSON.delivery(events) } catch { return .failure(Failure(message: "encoding: \(error)")) }
        let timestamp = Int(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "settle-webhooks/1")
        request.headers.add(name: "Settle-Signature", value: Self.signature(secret: endpoint.secret, timestamp: timestamp, body: body))
        request.headers.add(name: "Settle-Delivery", value: "\(endpoint.id)/\(events[0].position)-\(events[events.count - 1].position)")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(Int64(timeout / .nanoseconds(1))))
            // The body is read (and dropped) so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 << 10)
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else { return .failure(Failure(status: status, message: "HTTP \(status)")) }
            return .success(status)
        } catch {
            return .failure(Failure(message: "\(error)"))
        }
    }

    /// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body, keyed with the secret's text>`, as
    /// a receiver recomputes it; the time lets it refuse old replays.
    public static func signature(secret: String, timestamp: Int, body: [UInt8]) -> String {
        var message = Array("\(timestamp).".utf8)
        message += body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return "t=\(timestamp),v1=\(Array(mac).map { String(format: "%02x", $0) }.joined())"
    }
}

extension Duration {
    fileprivate func clamped(to range: ClosedRange<Duration>) -> Duration {
        Swift.min(Swift.max(self, range.lowerBound), range.upperBound)
    }
}
