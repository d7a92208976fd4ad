import Foundation
import Ledger
import Testing

@Suite("Concurrency")
struct ConcurrencyTests {
    /// 16 writers race on 4 limited wallets and one hot merchant, with overlapping batches and
    /// retries of the same ids: no overdraft, money conserved, each id written once.
    @Test func sixteenWritersRaceOnLimitedAccounts() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "w0!", "w1!", "w2!", "w3!", "merchant")
        let fund = (0..<4).map {
            NewTransfer(id: b.tid("fund\($0)"), .post([.debit(b.id("@world"), 1_000), .credit(b.id("w\($0)"), 1_000)]))
        }
        let notCreated = try await b.ledger.post(fund).filter { !$0.isCreated }
        #expect(notCreated.isEmpty, "\(notCreated)")

        // 16 tasks x 40 batches x 5 transfers of 7..13 units: far more than the 4,000 available.
        // Ids repeat across tasks (task t and t+8 send the same transfers), so concurrent duplicates happen.
        let results = try await withThrowingTaskGroup(of: [(TransferID, TransferResult)].self) { group in
            for task in 0..<16 {
                group.addTask {
                    var out: [(TransferID, TransferResult)] = []
                    for round in 0..<40 {
                        let batch = (0..<5).map { k -> NewTransfer in
                            let n = (task % 8) * 1_000 + round * 5 + k
                            let wallet = b.id("w\(n % 4)")
                            let amount = UInt256(UInt64(7 + n % 7))
                            return NewTransfer(id: b.tid("pay\(n)"), .post([.debit(wallet, amount), .credit(b.id("merchant"), amount)]))
                        }
                        let r = try await b.ledger.post(batch)
                        out += zip(batch.map(\.id), r).map { ($0, $1) }
                    }
                    return out
                }
            }
            var all: [(TransferID, TransferResult)] = []
            for try await part in group { all += part }
            return all
        }
        var createdIDs: [TransferID: Int] = [:]
        for (id, r) in results {
            if r.isCreated { createdIDs[id, default: 0] += 1 }
            if case .rejected(let e) = r { #expect([LedgerError.Code.exceedsCredits].contains(e.code), "\(e)") }
        }
        let createdTwice = createdIDs.filter { $0.value != 1 }
        #expect(createdTwice.isEmpty, "ids created more than once: \(createdTwice)")
        var spent: UInt256 = 0
        for w in 0..<4 {
            let wallet = try await b.balance("w\(w)")
            #expect(wallet.debitsPosted <= wallet.creditsPosted, "overdraft on w\(w)")
            spent = spent.adding(wallet.debitsPosted)!
        }
        let merchant = try await b.balance("merchant")
        #expect(merchant.creditsPosted == spent)
        #expect(spent > 3_900, "the wallets should be nearly drained, spent \(spent)")
        // Every created transfer is there, exactly once, with the amount the merchant got.
        var sum: UInt256 = 0
        for id in createdIDs.keys {
            let t = try #require(try await b.ledger.transfer(id))
            sum = sum.adding(t.lines.first { $0.direction == .credit }!.amount.magnitude)!
        }
        #expect(sum == merchant.creditsPosted)
    }

    /// The same transfer sent by 16 tasks at once is written once; the others see `exists`.
    @Test func concurrentDuplicatesResolveToOneWrite() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "a")
        for round in 0..<10 {
            let t = NewTransfer(id: b.tid("dup\(round)"), .post([.debit(b.id("@world"), 3), .credit(b.id("a"), 3)]))
            let results = try await withThrowingTaskGroup(of: TransferResult.self) { group in
                for _ in 0..<16 { group.addTask { try await b.ledger.post(t) } }
                var all: [TransferResult] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(results.filter(\.isCreated).count == 1)
            #expect(results.filter(\.isExists).count == 15)
        }
        #expect(try await b.balance("a").creditsPosted == 30)
    }
}
