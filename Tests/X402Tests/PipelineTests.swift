import DevChain
import EVM
import Foundation
import Ledger
import RailKit
import SettleTesting
import Testing

@testable import X402

/// The facilitator's transactions are pipelined (issue 16 item 5, decision 0041): many settlements
/// are in flight from one sender with consecutive nonces and land in one block, and a transaction
/// the node refuses in the middle leaves no nonce gap and nothing booked without money on chain.
@Suite("x402 facilitator pipelines its transactions", .timeLimit(.minutes(3)))
struct PipelineTests {
    /// A harness on a database of its own (reconcile takes every open row of its network) whose
    /// chain mines only when told to.
    static func with(receiptTimeout: Duration, _ body: (X402Harness, X402Facilitator) async throws -> Void) async throws {
        let url = try await TestDatabase.isolatedDatabase()
        try await withLedger(url) { ledger in
            try await X402Harness.with(ledger: ledger) { h in
                var configuration = h.facilitator.configuration
                configuration.receiptTimeout = receiptTimeout
                let facilitator = X402Facilitator(
                    configuration: configuration, rpc: h.rpc, store: X402SettlementStore(client: ledger.client),
                    booker: RailBooker(ledger: ledger), logger: X402Harness.logger)
                await h.chain.setAutomine(false)
                try await body(h, facilitator)
            }
        }
        try await TestDatabase.dropIsolated(url)
    }

    /// Starts `count` settlements of `amount` at once, each its own payer; returns their tasks.
    static func settleConcurrently(_ h: X402Harness, _ facilitator: X402Facilitator, count: Int, amount: String) async throws
        -> [Task<SettleResponse, any Error>]
    {
        let requirements = h.requirements(amount: amount)
        var payloads: [PaymentPayload] = []
        for _ in 0..<count { payloads.append(try X402Harness.payment(key: try await h.fundedPayer(), requirements: requirements)) }
        return payloads.map { payload in Task { try await facilitator.settle(payload, requirements: requirements) } }
    }

    /// Waits until the mempool holds `count` transactions.
    static func mempool(_ h: X402Harness, reaches count: Int) async throws {
        while await h.chain.pendingTransactions.count < count { try await Task.sleep(for: .milliseconds(20)) }
    }

    @Test func manySettlementsLandInOneBlockWithConsecutiveNoncesAndAreAllBooked() async throws {
        try await Self.with(receiptTimeout: .seconds(3_600)) { h, facilitator in
            let count = 40
            let before = try await h.facilitatorTransactions()
            let settling = try await Self.settleConcurrently(h, facilitator, count: count, amount: "300")
            try await Self.mempool(h, reaches: count)
            let block = try #require(try await h.chain.mine().first)
            var answers: [SettleResponse] = []
            for task in settling { answers.append(try await task.value) }
            let failed = answers.filter { !$0.success }
            #expect(failed.isEmpty, "\(failed)")
            #expect(block.transactions.count == count)
            let sender = X402Harness.facilitatorKey.address
            let nonces = block.transactions.filter { $0.sender == sender }.map(\.transaction.nonce)
            #expect(nonces == Array(before..<before + UInt64(count)))
            #expect(Set(answers.map(\.transaction)) == Set(block.transactions.map(\.hash.hex)))
            #expect(try await h.tokenBalance(h.payTo) == EVM.UInt256(UInt64(300 * count)))
            let balance = try await h.merchantBalance()
            #expect(balance.posted == Ledger.UInt256(UInt64(300 * count)))
            #expect(balance.pending == .zero)
        }
    }

    @Test func aTransactionRefusedInTheMiddleLeavesNoGapAndNothingBookedWithoutMoney() async throws {
        try await Self.with(receiptTimeout: .seconds(15)) { h, facilitator in
            let count = 8
            let sender = X402Harness.facilitatorKey.address
            let before = try await h.facilitatorTransactions()
            // The node refuses the fourth transaction: the pipeline fills its nonce so that the
            // ones after it can be mined.
            await h.chain.refuseTransactions(from: sender, count: 1, after: 3)
            let settling = try await Self.settleConcurrently(h, facilitator, count: count, amount: "500")
            try await Self.mempool(h, reaches: count)
            let block = try #require(try await h.chain.mine().first)
            #expect(block.transactions.map(\.transaction.nonce) == Array(before..<before + UInt64(count)))
            let fillers = block.transactions.filter { $0.transaction.to == sender && $0.transaction.data.isEmpty }
            #expect(fillers.count == 1)
            var answers: [SettleResponse] = []
            for task in settling { answers.append(try await task.value) }
            #expect(answers.filter(\.success).count == count - 1)
            let pending = answers.filter(\.isPending)
            #expect(pending.count == 1)
            // What the ledger credits is what the chain paid: seven payments, the refused one held.
            #expect(try await h.tokenBalance(h.payTo) == EVM.UInt256(UInt64(500 * (count - 1))))
            var balance = try await h.merchantBalance()
            #expect(balance.posted == Ledger.UInt256(UInt64(500 * (count - 1))))
            #expect(balance.pending == Ledger.UInt256(500))

            // Resolved: its stored transaction can never be mined (a filler took its nonce), so a
            // replacement is signed with the next nonce and mined.
            #expect(try await facilitator.reconcile(olderThan: .zero) == 0)
            try await Self.mempool(h, reaches: 1)
            try await h.chain.mine()
            #expect(try await facilitator.reconcile(olderThan: .zero) == 1)
            #expect(try await h.tokenBalance(h.payTo) == EVM.UInt256(UInt64(500 * count)))
            balance = try await h.merchantBalance()
            #expect(balance.posted == Ledger.UInt256(UInt64(500 * count)))
            #expect(balance.pending == .zero)
            // No gap: every nonce handed out is mined, nothing waits.
            #expect(try await h.facilitatorTransactions() == before + UInt64(count) + 1)
            #expect(try await h.rpc.transactionCount(sender, block: .pending) == before + UInt64(count) + 1)
            #expect(await h.chain.pendingTransactions.isEmpty)
            #expect(try await h.settlementStates() == ["settled": count])
        }
    }

    @Test func aNodeThatLostAcceptedTransactionsHasTheGapFilled() async throws {
        try await Self.with(receiptTimeout: .seconds(15)) { h, facilitator in
            let sender = X402Harness.facilitatorKey.address
            let before = try await h.facilitatorTransactions()
            let first = try await Self.settleConcurrently(h, facilitator, count: 2, amount: "200")
            try await Self.mempool(h, reaches: 2)
            // The node loses both (a restart that emptied its pool); the next settlement's
            // transaction is then above the node's next nonce: the gap is filled.
            for tx in await h.chain.pendingTransactions { await h.chain.dropTransaction(tx.hash) }
            let next = try await Self.settleConcurrently(h, facilitator, count: 1, amount: "200")
            try await Self.mempool(h, reaches: 3)
            try await h.chain.mine()
            #expect(try await next[0].value.success)
            #expect(try await h.facilitatorTransactions() == before + 3)
            for task in first { #expect(try await task.value.isPending) }
            // The two lost ones are replaced when resumed, and nothing was credited for them meanwhile.
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(200))
            _ = try await facilitator.reconcile(olderThan: .zero)
            try await Self.mempool(h, reaches: 2)
            try await h.chain.mine()
            #expect(try await facilitator.reconcile(olderThan: .zero) == 2)
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(600))
            #expect(try await h.rpc.transactionCount(sender, block: .pending) == before + 5)
        }
    }
}
