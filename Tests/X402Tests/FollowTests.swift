import DevChain
import EVM
import Foundation
import Ledger
import RailKit
import ServiceLifecycle
import SettleTesting
import Testing

@testable import X402

/// The facilitator follows what it settled until it is final: a settlement a reorganization drops
/// is sent again while its authorization is valid, or its revenue is reversed when it can no longer
/// be paid; either way the incoming clearing account ends at what the chain holds.
@Suite("x402 facilitator follows its settlements", .timeLimit(.minutes(2)))
struct FollowTests {
    /// A harness on a database of its own (follow takes every open row of its network, and other
    /// tests' rows belong to their own dev chains), with a facilitator final at 3 blocks.
    static func with(_ body: (X402Harness, X402Facilitator) async throws -> Void) async throws {
        let url = try await TestDatabase.isolatedDatabase()
        try await withLedger(url) { ledger in
            try await X402Harness.with(ledger: ledger) { h in
                var configuration = h.facilitator.configuration
                configuration.finality = 3
                let facilitator = X402Facilitator(
                    configuration: configuration, rpc: h.rpc, store: X402SettlementStore(client: ledger.client),
                    booker: RailBooker(ledger: ledger), logger: X402Harness.logger)
                try await body(h, facilitator)
            }
        }
        try await TestDatabase.dropIsolated(url)
    }

    static func incoming(_ h: X402Harness) async throws -> Balance {
        try await h.ledger.balance(of: AccountID("evm:\(X402Harness.token.assetID):incoming:\(h.payTo.lowercased)"))
    }

    @Test func aSettlementDroppedByAReorgIsSentAgainAndFollowedToFinality() async throws {
        try await Self.with { h, facilitator in
            let payer = try await h.fundedPayer()
            let requirements = h.requirements(amount: "1500")
            let payload = try X402Harness.payment(key: payer, requirements: requirements)
            let settled = try await facilitator.settle(payload, requirements: requirements)
            #expect(settled.success)
            let block = try #require(await h.chain.receipt(try Hash32(hex: settled.transaction))).blockNumber
            #expect(try await facilitator.follow() == .init(), "one block deep: still followed")

            _ = try await h.chain.reorg(fromBlock: block, requeue: false)
            #expect(try await h.tokenBalance(h.payTo) == 0)
            #expect(try await facilitator.follow() == .init(final: 0, resent: 1, reversed: 0))
            // Automine: the same transaction is in a block again, the payTo paid.
            #expect(try await h.tokenBalance(h.payTo) == 1500)
            #expect(try await facilitator.settle(payload, requirements: requirements).transaction == settled.transaction)
            _ = try await h.chain.mine(blocks: 3)
            #expect(try await facilitator.follow() == .init(final: 1, resent: 0, reversed: 0))
            #expect(try await facilitator.follow() == .init(), "final: no longer followed")
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(1500))
            #expect(try await Self.incoming(h).posted == SignedAmount(Ledger.UInt256(1500)))
        }
    }

    /// The in-process follower (`settle sandbox`) does on its own what `follow()` does when called:
    /// a settlement a reorganization dropped is in a block again without anyone asking.
    @Test func theFollowerServiceSendsADroppedSettlementAgainByItself() async throws {
        try await Self.with { h, facilitator in
            let payer = try await h.fundedPayer()
            let requirements = h.requirements(amount: "700")
            let settled = try await facilitator.settle(
                try X402Harness.payment(key: payer, requirements: requirements), requirements: requirements)
            #expect(settled.success)
            let block = try #require(await h.chain.receipt(try Hash32(hex: settled.transaction))).blockNumber
            _ = try await h.chain.reorg(fromBlock: block, requeue: false)
            #expect(try await h.tokenBalance(h.payTo) == 0)

            let follower = X402Follower(facilitators: [facilitator], interval: .milliseconds(50), logger: X402Harness.logger)
            let group = ServiceGroup(configuration: .init(services: [follower], logger: X402Harness.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let deadline = ContinuousClock.now + HangGuard.duration
                while try await h.tokenBalance(h.payTo) != 700, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(try await h.tokenBalance(h.payTo) == 700, "sent again and mined (automine)")
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(700), "booked once")
        }
    }

    @Test func aSettlementDroppedAfterItsAuthorizationExpiredIsReversed() async throws {
        try await Self.with { h, facilitator in
            let payer = try await h.fundedPayer()
            let requirements = h.requirements(amount: "2500", maxTimeoutSeconds: 30)
            let payload = try X402Harness.payment(key: payer, requirements: requirements)
            let settled = try await facilitator.settle(payload, requirements: requirements)
            #expect(settled.success)
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(2500))
            let block = try #require(await h.chain.receipt(try Hash32(hex: settled.transaction))).blockNumber

            // The chain drops the block, and its clock passes the authorization's validBefore.
            _ = try await h.chain.reorg(fromBlock: block, requeue: false)
            _ = await h.chain.increaseTime(by: 120)
            _ = try await h.chain.mine(blocks: 1)
            #expect(try await facilitator.follow() == .init(final: 0, resent: 0, reversed: 1))
            #expect(try await h.tokenBalance(h.payTo) == 0)
            // Revenue taken back; the clearing account is back to zero, as the chain never paid.
            let merchant = try await h.ledger.balance(of: h.merchant)
            #expect(merchant.creditsPosted == Ledger.UInt256(2500) && merchant.debitsPosted == Ledger.UInt256(2500))
            #expect(try await Self.incoming(h).posted == SignedAmount(.zero))
            #expect(try await facilitator.follow() == .init())
            // The payment is reported as what it became, and nothing is sent for it.
            let before = try await h.facilitatorTransactions()
            let again = try await facilitator.settle(payload, requirements: requirements)
            #expect(!again.success && again.errorReason == .transactionFailed, "\(again)")
            #expect(try await h.facilitatorTransactions() == before)
            #expect(try await h.ledger.verify().passed)
        }
    }
}
