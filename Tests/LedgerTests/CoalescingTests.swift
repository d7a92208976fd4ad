import Foundation
import Logging
import ServiceLifecycle
import SettleTesting
import Synchronization
import Testing

@testable import Ledger

/// Group commit and batched balance reads, run as services the way `settle serve` runs them.
@Suite("Coalesced posts and reads")
struct CoalescingTests {
    @Test func concurrentReadsGetTheirOwnAccountsBalances() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "a", "b", "c")
        for (k, name) in ["a", "b", "c"].enumerated() {
            #expect(
                try await b.post(
                    "fund-\(name)",
                    [.debit(b.id("@world"), UInt256(UInt64(k + 1) * 100)), .credit(b.id(name), UInt256(UInt64(k + 1) * 100))]
                ).isCreated)
        }
        let reads = BalanceReads(ledger: b.ledger, maxBatch: 7)
        let names = ["a", "b", "c", "nobody"]
        let answers = try await withServices([reads]) {
            try await withThrowingTaskGroup(of: (String, UInt256?).self) { tasks in
                for k in 0..<400 {
                    let name = names[k % names.count]
                    tasks.addTask {
                        do {
                            return (name, try await reads.balance(of: b.id(name)).creditsPosted)
                        } catch let error as LedgerError where error.code == .accountNotFound {
                            return (name, nil)
                        }
                    }
                }
                var answers: [String: [UInt256?]] = [:]
                for try await (name, credits) in tasks { answers[name, default: []].append(credits) }
                return answers
            }
        }
        #expect(answers["a"] == Array(repeating: 100, count: 100))
        #expect(answers["b"] == Array(repeating: 200, count: 100))
        #expect(answers["c"] == Array(repeating: 300, count: 100))
        #expect(answers["nobody"] == Array(repeating: UInt256?.none, count: 100))
    }

    @Test func aReadSeesEveryPostAcknowledgedBeforeIt() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "m")
        let commit = GroupCommit(ledger: b.ledger)
        let reads = BalanceReads(ledger: b.ledger)
        try await withServices([commit, reads]) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for writer in 0..<8 {
                    tasks.addTask {
                        for k in 0..<25 {
                            let before = try await reads.balance(of: b.id("m")).creditsPosted
                            let result = try await commit.post(
                                NewTransfer(id: b.tid("w\(writer)-\(k)"), .post([.debit(b.id("@world"), 1), .credit(b.id("m"), 1)])))
                            #expect(result.isCreated)
                            let after = try await reads.balance(of: b.id("m")).creditsPosted
                            #expect(after > before, "an acknowledged post is visible to the next read")
                        }
                    }
                }
                try await tasks.waitForAll()
            }
        }
        #expect(try await b.balance("m").creditsPosted == 200)
    }

    @Test func afterShutdownReadsAndPostsAreRefused() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "m")
        let commit = GroupCommit(ledger: b.ledger)
        let reads = BalanceReads(ledger: b.ledger)
        try await withServices([commit, reads]) {
            let version = try await reads.balance(of: b.id("m")).version
            #expect(version == 0)
        }
        do {
            _ = try await commit.post(NewTransfer(id: b.tid("late"), .post([.debit(b.id("@world"), 1), .credit(b.id("m"), 1)])))
            Issue.record("a post after shutdown was taken")
        } catch {
            #expect(error.code == .shuttingDown)
        }
        do {
            _ = try await reads.balance(of: b.id("m"))
            Issue.record("a read after shutdown was answered")
        } catch {
            #expect(error.code == .shuttingDown)
        }
        #expect(try await b.balance("m").version == 0)
    }

    /// Batches of an idle coalescer start at once; beside a running batch, a second one starts only
    /// when enough requests wait, else they go in the batch after the running one.
    @Test func aConcurrentBatchWaitsForItsMinimum() async throws {
        let sizes = Mutex<[Int]>([])
        // Each batch waits until the test opens the gate once for it.
        let gate = Mutex<(opened: Int, waiting: [CheckedContinuation<Void, Never>])>((0, []))
        func open() {
            let waiter = gate.withLock { g -> CheckedContinuation<Void, Never>? in
                if g.waiting.isEmpty {
                    g.opened += 1
                    return nil
                }
                return g.waiting.removeFirst()
            }
            waiter?.resume()
        }
        let coalescer = Coalescer<Int, Int>(
            maxBatch: 100, maxInFlight: 2, minConcurrentBatch: 3, closedError: LedgerError(.shuttingDown, "closed")
        ) { requests in
            sizes.withLock { $0.append(requests.count) }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let pass = gate.withLock { g in
                    if g.opened > 0 {
                        g.opened -= 1
                        return true
                    }
                    g.waiting.append(continuation)
                    return false
                }
                if pass { continuation.resume() }
            }
            return requests.map { .success($0 * 10) }
        }
        func waitForBatches(_ n: Int) async throws {
            while sizes.withLock({ $0.count }) < n { try await Task.sleep(for: .milliseconds(5)) }
        }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await coalescer.run(abandoned: LedgerError(.shuttingDown, "gone")) }
            var answers: [Task<Result<Int, LedgerError>, Never>] = []
            answers.append(Task { await coalescer.submit(1) })
            try await waitForBatches(1)
            for k in 2...3 { answers.append(Task { await coalescer.submit(k) }) }
            try await Task.sleep(for: .milliseconds(100))
            #expect(sizes.withLock { $0 } == [1], "two waiting requests do not start a batch beside the running one")
            for k in 4...5 { answers.append(Task { await coalescer.submit(k) }) }
            try await waitForBatches(2)
            #expect(sizes.withLock { $0 } == [1, 3] || sizes.withLock { $0 } == [1, 4])
            answers.append(Task { await coalescer.submit(6) })
            for _ in 0..<3 { open() }
            for (k, answer) in answers.enumerated() {
                #expect(try await answer.value.get() == (k + 1) * 10)
            }
            coalescer.close()
            try await tasks.waitForAll()
        }
        #expect(sizes.withLock { $0 }.reduce(0, +) == 6)
    }
}
