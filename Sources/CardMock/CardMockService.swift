import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle

/// The mock's background work, run as a service of the application: the clock ticker and the
/// webhook deliverer. On graceful shutdown (after the HTTP server stopped) it syncs and closes the
/// journal, so a restart finds every accepted request and every pending delivery.
struct CardMockService: Service {
    let store: CardMockStore
    let configuration: CardMockConfiguration
    let logger: Logger

    /// Attempts running at once.
    static let deliveryConcurrency = 16
    /// How long the deliverer sleeps when nothing is due; bounds the delay of a new event's first attempt.
    static let idlePoll = Duration.milliseconds(20)

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await tickLoop() }
                group.addTask { await deliveryLoop(client) }
                await group.waitForAll()
            }
        }
        await store.close()
        try await client.shutdown()
    }

    private func tickLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.tickInterval)
            if Task.isCancelled { return }
            await store.tick()
        }
    }

    private func deliveryLoop(_ client: HTTPClient) async {
        while !Task.isCancelled {
            let (jobs, nextDueMs) = await store.takeDueDeliveries(limit: Self.deliveryConcurrency)
            if jobs.isEmpty {
                let nowMs = Int64(Date().timeIntervalSince1970 * 1_000)
                let wait = nextDueMs.map { Duration.milliseconds(max(1, min($0 - nowMs, Self.idlePoll.milliseconds))) } ?? Self.idlePoll
                try? await Task.sleep(for: wait)
                continue
            }
            await withTaskGroup(of: Void.self) { group in
                for job in jobs { group.addTask { await attempt(job, client) } }
            }
        }
    }

    /// One POST, signed afresh: a retry never reuses an earlier `t` or signature.
    private func attempt(_ job: CardMockStore.DeliveryJob, _ client: HTTPClient) async {
        let startedMs = Int64(Date().timeIntervalSince1970 * 1_000)
        let timestamp = Int64(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: job.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        request.headers.add(
            name: "Stripe-Signature", value: WebhookSignature.header(secret: job.secret, timestamp: timestamp, body: job.body))
        request.body = .bytes(ByteBuffer(bytes: job.body))
        var outcome = WebhookDelivery.Attempt(at: startedMs, timestamp: timestamp)
        do {
            let response = try await client.execute(request, timeout: .milliseconds(configuration.webhookTimeout.milliseconds))
            _ = try? await response.body.collect(upTo: 64 * 1_024)
            outcome.statusCode = Int(response.status.code)
        } catch {
            outcome.error = "\(error)"
        }
        logger.debug(
            "webhook attempt",
            metadata: ["delivery": "\(job.id)", "status": "\(outcome.statusCode.map(String.init) ?? outcome.error ?? "")"])
        await store.record(job.id, attempt: outcome)
    }
}
