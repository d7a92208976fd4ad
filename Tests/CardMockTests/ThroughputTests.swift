import AsyncHTTPClient
import CardMock
import Foundation
import NIOCore
import NIOHTTP1
import SettleTesting
import Testing

@Suite struct ThroughputTests {
    /// Journaled, fsynced POSTs under concurrency: every answer is a distinct, durable PaymentIntent,
    /// and the rate is printed (group commit keeps it far above one fsync per request).
    @Test func concurrentDurablePaymentsAreFast() async throws {
        let directory = temporaryDirectory()
        let server = try await MockServer.start(directory: directory)
        let client = server.client
        let total = 2_000
        let concurrency = 32
        let start = ContinuousClock.now
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var ids: [String] = []
                    for index in stride(from: worker, to: total, by: concurrency) {
                        ids.append(try await Self.pay(client, amount: 1_000 + index, key: "load-\(index)"))
                    }
                    return ids
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(
            "cardmock: \(total) confirmed payments (journaled + fsynced) in \(String(format: "%.2f", seconds)) s = \(Int(Double(total) / seconds)) requests/s"
        )
        #expect(Set(ids).count == total)
        let foreign = ids.filter { !$0.hasPrefix("pi_") }
        #expect(foreign.isEmpty, "\(foreign)")
        try await server.stop()
        // Every acknowledged payment is in the journal after a restart.
        let replayStart = ContinuousClock.now
        let restarted = try await MockServer.start(directory: directory)
        print("cardmock: restart replayed the journal in \(ContinuousClock.now - replayStart)")
        var seen = 0
        var after: String?
        repeat {
            var query: KeyValuePairs<String, String> = ["limit": "100"]
            if let after { query = ["limit": "100", "starting_after": after] }
            let page = try await restarted.client.get("/v1/payment_intents", query)
            seen += page["data"]?.count ?? 0
            after = page["data"]?.array?.last?["id"]?.string
            if page["has_more"] != true { break }
        } while true
        #expect(seen == total)
        try await restarted.stop()
    }

    /// A payment whose answer is not decoded into ``JSON`` (the id is cut out of the text), so the
    /// client costs little next to the server being measured.
    static func pay(_ client: MockClient, amount: Int, key: String) async throws -> String {
        var request = HTTPClientRequest(url: client.baseURL + "/v1/payment_intents")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer sk_test_load")
        request.headers.add(name: "Idempotency-Key", value: key)
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(
            ByteBuffer(
                string:
                    "amount=\(amount)&currency=usd&payment_method=pm_card_visa&payment_method_types[0]=card&confirm=true&capture_method=automatic"
            ))
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status.code == 200, let start = body.range(of: "\"id\" : \"") else {
            throw TestFailure("payment \(key): \(response.status.code) \(body)")
        }
        return String(body[start.upperBound...].prefix { $0 != "\"" })
    }
}
