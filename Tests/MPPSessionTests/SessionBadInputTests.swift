import EVM
import Foundation
import Ledger
import MPP
import Testing

@testable import MPPSession

/// Issue 12's bad session input: each refusal has the spec's status and problem type, and nothing
/// refused is booked.
@Suite("MPP session bad input", .serialized)
struct SessionBadInputTests {
    typealias H = SessionHarness

    static func expect(
        _ answer: SessionClient.Answer, _ status: Int, _ slug: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(answer.status == status, "\(answer.body)", sourceLocation: sourceLocation)
        #expect(answer.problemType == "https://paymentauth.org/problems/" + slug, "\(answer.body)", sourceLocation: sourceLocation)
        #expect((answer.status == 402) == !answer.challenges.isEmpty, "challenges on \(answer.status)", sourceLocation: sourceLocation)
        #expect(answer.receipt == nil, sourceLocation: sourceLocation)
    }

    /// The malleable twin of a signature (`n − s`, other parity): same signer, refused.
    static func highS(_ bytes: [UInt8]) throws -> [UInt8] {
        let s = try Signature(bytes: bytes)
        let order = try EVM.UInt256(hex: "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
        return try Signature(r: s.r, s: (order - s.s.uint256).word, v: s.recoveryID ^ 1).bytes
    }

    @Test func refusalsHaveTheSpecsStatusAndBookNothing() async throws {
        try await H.with { h in
            let url = try await h.startServer(h.method()) + "/paid"
            var client = try await SessionClient.connect(url, payer: try await h.fundedPayer())
            let open = client.openTransaction(deposit: 20_000)
            // Opening with a first voucher pays the request at once.
            let opened = try await client.pay(client.openPayload(open, voucher: 1_000))
            #expect(opened.status == 200 && opened.receipt?.extensions["spent"] == .string("1000"), "\(opened.body)")

            Self.expect(try await client.pay(client.voucherPayload(500)), 402, "session/delta-too-small")
            Self.expect(try await client.pay(client.voucherPayload(25_000)), 402, "session/amount-exceeds-deposit")
            let stranger = PrivateKey.random()
            Self.expect(
                try await client.pay(client.voucherPayload(2_000, signature: client.sign(2_000, key: stranger))), 402,
                "session/signer-mismatch")
            Self.expect(
                try await client.pay(client.voucherPayload(2_000, signature: try Self.highS(client.sign(2_000)))), 402,
                "session/invalid-signature")
            // A voucher that raises the total by less than a request costs.
            Self.expect(try await client.pay(client.voucherPayload(1_500)), 402, "session/insufficient-balance")
            var unknown = client.voucherPayload(2_000)
            unknown["channelId"] = .string(Hash32.random.hex)
            unknown["descriptor"] = nil
            Self.expect(try await client.pay(unknown), 410, "session/channel-not-found")
            var action = client.voucherPayload(2_000)
            action["action"] = .string("withdraw")
            Self.expect(try await client.pay(action), 402, "invalid-payload")
            #expect(try await h.balance(h.merchant).creditsPosted.description == "1000")

            let session = client
            // Concurrent requests with one voucher: it pays once; the others are retries (served free) or refused.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<12 { group.addTask { try await session.pay(session.voucherPayload(2_500)).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let unexpected = statuses.filter { $0 != 200 && $0 != 403 }
            let servedOnce = statuses.filter { $0 == 200 }.count
            #expect(unexpected.isEmpty && servedOnce >= 1, "\(statuses)")
            #expect(try await h.balance(h.merchant).creditsPosted.description == "2000")
            // Concurrent distinct vouchers: the ones overtaken by a higher voucher are refused; each success charged once.
            let answers = try await withThrowingTaskGroup(of: Int.self) { group in
                for k in 1...10 {
                    group.addTask { try await session.pay(session.voucherPayload(EVM.UInt256(2_500 + 1_000 * UInt64(k)))).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let odd = answers.filter { $0 != 200 && $0 != 402 }
            #expect(odd.isEmpty, "\(answers)")
            let served = UInt64(answers.filter { $0 == 200 }.count)
            #expect(served >= 1)
            let stored = try #require(try await h.store.channel(client.channelID))
            #expect(stored.spent == EVM.UInt256(2_000 + 1_000 * served))
            #expect(try await h.balance(h.merchant).creditsPosted.description == stored.spent.description)
            #expect(try await h.balance(try h.vouchersAccount(client.channelID)).debitsPosted.description == stored.spent.description)

            // Closed: every voucher is refused with 410 and no challenge.
            let close = try await client.pay(client.closePayload(stored.accepted))
            #expect(close.status == 204, "\(close.body)")
            Self.expect(try await client.pay(client.voucherPayload(stored.accepted + 1_000)), 410, "session/channel-finalized")
        }
    }
}
