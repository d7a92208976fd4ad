import Foundation
import SettleTesting
import Testing

@testable import X402

/// The served-payment claims behind the middleware's once-only serving and payment-identifier.
struct ResponseStoreTests {
    @Test func claimsServeOncePerPaymentAndTakeOverDeadOnes() async throws {
        let store = X402ResponseStore(client: try await TestDatabase.client(), logger: X402Harness.logger)
        let tag = UUID().uuidString.lowercased()
        let key = "eip155:31337/0xasset/0xpayer/\(tag)"
        let hash = [UInt8](repeating: 1, count: 32)
        let other = [UInt8](repeating: 2, count: 32)
        let id = "pay_\(tag.replacingOccurrences(of: "-", with: ""))"

        #expect(try await store.claim(key: key, paymentID: id, requestHash: hash, lease: .seconds(60)) == .claimed(resumed: false))
        // Another request for the same payment while the first is serving it.
        #expect(try await store.claim(key: key, paymentID: id, requestHash: hash, lease: .seconds(60)) == .busy)
        // Another payload under the same payment-identifier.
        #expect(try await store.claim(key: key + "x", paymentID: id, requestHash: other, lease: .seconds(60)) == .conflict)
        // The first request died: after the lease, the same payload takes its claim over; another
        // payload for the same key never does.
        try await Task.sleep(for: .milliseconds(1_100))
        #expect(try await store.claim(key: key, paymentID: nil, requestHash: other, lease: .seconds(1)) == .busy)
        #expect(try await store.claim(key: key, paymentID: id, requestHash: hash, lease: .seconds(1)) == .claimed(resumed: true))

        let stored = StoredResponse(status: 200, headers: ["content-type": "text/plain"], body: Array("paid".utf8))
        try await store.served(key: key, response: stored)
        #expect(try await store.claim(key: key, paymentID: id, requestHash: hash, lease: .seconds(60)) == .cached(stored))
        #expect(try await store.claim(key: key, paymentID: nil, requestHash: hash, lease: .seconds(60)) == .alreadyServed)
        // Releasing a served claim does nothing.
        try await store.release(key: key)
        #expect(try await store.claim(key: key, paymentID: nil, requestHash: hash, lease: .seconds(60)) == .alreadyServed)

        // A released claim (pending or refused payment) can be claimed again at once.
        let second = key + "/2"
        #expect(try await store.claim(key: second, paymentID: nil, requestHash: hash, lease: .seconds(60)) == .claimed(resumed: false))
        try await store.release(key: second)
        #expect(try await store.claim(key: second, paymentID: nil, requestHash: hash, lease: .seconds(60)) == .claimed(resumed: false))
    }
}
