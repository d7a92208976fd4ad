import DevChain
import EVM
import Foundation
import Ledger
import PostgresNIO
import SettleTesting
import Testing

@testable import X402

/// The batch-settlement facilitator stores its transactions before it broadcasts them and follows
/// them until final: a claim and a sweep a reorganization drops are sent again, and booked once.
@Suite("x402 batch facilitator follows its transactions", .timeLimit(.minutes(2)))
struct BatchFollowTests {
    /// A batch route on a database of its own (the follower takes every open row of its chain,
    /// and other tests' rows belong to their own dev chains), its facilitator storing its transactions.
    static func with(_ body: (X402Harness, BatchHarness, _ url: String) async throws -> Void) async throws {
        let url = try await TestDatabase.isolatedDatabase()
        try await withLedger(url) { ledger in
            try await X402Harness.with(ledger: ledger) { h in
                let b = try await BatchHarness(
                    h, transactions: X402BatchTransactionStore(client: ledger.client, logger: X402Harness.logger))
                try await body(h, b, try await b.start() + "/metered")
            }
        }
        try await TestDatabase.dropIsolated(url)
    }

    /// Where each stored transaction of `kind` stands: its state and whether it is final.
    static func rows(_ h: X402Harness, kind: String) async throws -> [(state: String, block: Int64?, final: Bool)] {
        let rows = try await h.ledger.client.query(
            """
            select state, block_number, final_at is not null from settle.x402_batch_transactions where kind = \(kind)
            order by created_at
            """, logger: X402Harness.logger)
        var result: [(String, Int64?, Bool)] = []
        for try await row in rows.decode((String, Int64?, Bool).self) { result.append(row) }
        return result
    }

    @Test func aClaimAndASweepDroppedByAReorgAreSentAgainAndFollowedToFinality() async throws {
        try await Self.with { h, b, url in
            let payer = try await h.fundedPayer()
            let config = b.config(payer: payer)
            let id = config.channelID(in: b.domain)
            #expect(try await X402Harness.pay(url, b.deposit(config, amount: 10_000, key: payer)).status == 200)
            #expect(try await X402Harness.pay(url, b.voucher(config, 2000, key: payer)).status == 200)
            let settler = X402BatchSettler(server: b.server, logger: X402Harness.logger)
            #expect(try await settler.round(force: true) == 1)
            #expect(try await h.tokenBalance(h.payTo) == 2000)
            let facilitator = b.server.facilitator
            // Stored, mined, one block deep: followed, not final.
            #expect(try await facilitator.follow() == .init())
            let claim = try #require(try await Self.rows(h, kind: "claim").first)
            #expect(claim.state == "mined" && !claim.final)
            #expect(try await Self.rows(h, kind: "deposit").count == 1)

            // The claim and the sweep after it leave the chain.
            _ = try await h.chain.reorg(fromBlock: UInt64(try #require(claim.block)), requeue: false)
            #expect(try await h.tokenBalance(h.payTo) == 0)
            #expect(try await facilitator.chain.state(id).totalClaimed == .zero)
            #expect(try await facilitator.follow() == .init(final: 0, resent: 2, reversed: 0))
            // Automine: in blocks again, the receiver paid.
            #expect(try await facilitator.chain.state(id).totalClaimed == 2000)
            #expect(try await h.tokenBalance(h.payTo) == 2000)

            _ = try await h.chain.mine(blocks: 12)
            #expect(try await facilitator.follow() == .init(final: 3, resent: 0, reversed: 0))
            #expect(try await facilitator.follow() == .init(), "final: no longer followed")
            for kind in ["deposit", "claim", "settle"] {
                let rows = try await Self.rows(h, kind: kind)
                #expect(rows.count == 1 && rows.first?.state == "mined" && rows.first?.final == true, "\(kind): \(rows)")
            }
            // Booked once: the claim and the sweep, as before the reorganization.
            #expect(try await b.transfers(prefix: "x402:batch:claim:", mentioning: id.hex) == 1)
            #expect(try await b.transfers(prefix: "x402:batch:settle:", mentioning: h.payTo.lowercased) == 1)
            #expect(try await b.chargesBooked(id) == Ledger.UInt256(2000))
        }
    }

    @Test func aDepositDroppedAfterItsAuthorizationExpiredIsGivenUp() async throws {
        try await Self.with { h, b, url in
            let payer = try await h.fundedPayer()
            let config = b.config(payer: payer)
            #expect(try await X402Harness.pay(url, b.deposit(config, amount: 10_000, key: payer)).status == 200)
            let deposit = try #require(try await Self.rows(h, kind: "deposit").first)
            _ = try await h.chain.reorg(fromBlock: UInt64(try #require(deposit.block)), requeue: false)
            // The chain moves past the authorization's validBefore (two minutes ahead) before anyone looks.
            _ = try await h.chain.mine(blocks: 1, timestamp: UInt64(Date().timeIntervalSince1970) + 600)
            #expect(try await b.server.facilitator.follow() == .init(final: 0, resent: 0, reversed: 1))
            let rows = try await Self.rows(h, kind: "deposit")
            #expect(rows.count == 1 && rows.first?.state == "dropped" && rows.first?.final == true, "\(rows)")
            #expect(try await b.server.facilitator.follow() == .init())
        }
    }
}
