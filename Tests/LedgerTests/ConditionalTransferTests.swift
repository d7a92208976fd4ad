import Foundation
import Ledger
import ServiceLifecycle
import SettleTesting
import Testing

/// Conditional transfers (the version or available balance an account must have) and balancing
/// transfers (move up to an amount, or everything available), decision 0030.
@Suite("Conditional and balancing transfers")
struct ConditionalTransferTests {
    @Test func aVersionConditionHoldsOnlyForTheVersionLastRead() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent!", "merchant")
        #expect(try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)]).isCreated)
        let read = try await b.balance("agent")
        #expect(read.version == 1)

        // Another writer moves the account after the client read it.
        #expect(try await b.post("other", [.debit(b.id("agent"), 10), .credit(b.id("merchant"), 10)]).isCreated)
        let stale = NewTransfer(
            id: b.tid("pay"), .post([.debit(b.id("agent"), 100), .credit(b.id("merchant"), 100)]),
            conditions: [.init(account: b.id("agent"), version: read.version)])
        #expect(try await b.ledger.post(stale).code == .versionMismatch)
        #expect(try await b.ledger.transfer(b.tid("pay")) == nil, "a mismatch writes nothing")
        #expect(try await b.balance("agent").version == 2)

        // Read again, and the same transfer under a new id goes through.
        var fresh = stale
        fresh.id = b.tid("pay2")
        fresh.conditions = [.init(account: b.id("agent"), version: try await b.balance("agent").version)]
        let created = try await b.ledger.post(fresh)
        #expect(created.isCreated)
        // A retry of the recorded transfer is answered as it was, though the version has moved on.
        #expect(try await b.ledger.post(fresh) == .exists(try #require(created.receipt)))
        #expect(try await b.balance("agent").posted == SignedAmount(890))
    }

    @Test func anAvailableBalanceConditionCountsHolds() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent!", "merchant", "@clearing")
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)])
        let hold = NewTransfer(id: b.tid("hold"), .hold([.debit(b.id("agent"), 300), .credit(b.id("merchant"), 300)], timeout: nil))
        #expect(try await b.ledger.post(hold).isCreated)
        let pay: (String, SignedAmount) -> NewTransfer = { id, available in
            NewTransfer(
                id: b.tid(id), .post([.debit(b.id("agent"), 50), .credit(b.id("merchant"), 50)]),
                conditions: [.init(account: b.id("agent"), available: available)])
        }
        #expect(try await b.ledger.post(pay("posted-balance", SignedAmount(1_000))).code == .balanceMismatch)
        #expect(try await b.ledger.post(pay("available", SignedAmount(700))).isCreated)
        #expect(try await b.balance("agent").available == SignedAmount(650))

        // A debit-normal account's available balance is its debits less credits and pending credits.
        _ = try await b.post("in", [.debit(b.id("@clearing"), 80), .credit(b.id("merchant"), 80)])
        let out = NewTransfer(
            id: b.tid("out"), .post([.debit(b.id("merchant"), 30), .credit(b.id("@clearing"), 30)]),
            conditions: [.init(account: b.id("@clearing"), version: 1, available: SignedAmount(80))])
        #expect(try await b.ledger.post(out).isCreated)
        #expect(try await b.balance("@clearing").available == SignedAmount(50))
    }

    /// Conditions see the transfers before them in the same batch, as accepted or rejected.
    @Test func conditionsInOneBatchSeeTheTransfersBeforeThem() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent!", "merchant")
        let batch = [
            NewTransfer(id: b.tid("fund"), .post([.debit(b.id("@world"), 100), .credit(b.id("agent"), 100)])),
            // Rejected: more than the agent has; it must not count as a version.
            NewTransfer(id: b.tid("over"), .post([.debit(b.id("agent"), 500), .credit(b.id("merchant"), 500)])),
            NewTransfer(
                id: b.tid("after-fund"), .post([.debit(b.id("agent"), 40), .credit(b.id("merchant"), 40)]),
                conditions: [.init(account: b.id("agent"), version: 1, available: SignedAmount(100))]),
            NewTransfer(
                id: b.tid("same-read"), .post([.debit(b.id("agent"), 40), .credit(b.id("merchant"), 40)]),
                conditions: [.init(account: b.id("agent"), version: 1)]),
            NewTransfer(id: b.tid("sweep"), .balancing(from: b.id("agent"), to: b.id("merchant"), upTo: nil)),
        ]
        let results = try await b.ledger.post(batch)
        #expect(results[0].isCreated)
        #expect(results[1].code == .exceedsCredits)
        #expect(results[2].isCreated)
        #expect(results[3].code == .versionMismatch)
        #expect(results[4].receipt?.amount == 60)
        #expect(try await b.balance("agent").available == SignedAmount(0))
        #expect(try await b.balance("merchant").posted == SignedAmount(100))
    }

    @Test func anAtomicBatchWithAFailedConditionWritesNothing() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent")
        _ = try await b.post("fund", [.debit(b.id("@world"), 100), .credit(b.id("agent"), 100)])
        let batch = [
            NewTransfer(id: b.tid("a"), .post([.debit(b.id("@world"), 5), .credit(b.id("agent"), 5)])),
            NewTransfer(
                id: b.tid("b"), .post([.debit(b.id("agent"), 5), .credit(b.id("@world"), 5)]),
                conditions: [.init(account: b.id("agent"), version: 1)]),
            NewTransfer(id: b.tid("fund"), .post([.debit(b.id("@world"), 100), .credit(b.id("agent"), 100)])),
        ]
        let results = try await b.ledger.post(batch, atomic: true)
        #expect(results[0].code == .atomicBatchFailed)
        #expect(results[1].code == .versionMismatch)
        #expect(results[2].isExists)
        #expect(try await b.ledger.transfer(b.tid("a")) == nil)
        #expect(try await b.balance("agent").version == 1)
    }

    @Test func conditionsMustNameTheTransfersOwnAccounts() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent", "elsewhere")
        let postings: [Posting] = [.debit(b.id("@world"), 5), .credit(b.id("agent"), 5)]
        let cases: [[NewTransfer.Condition]] = [
            [.init(account: b.id("elsewhere"), version: 0)],
            [.init(account: b.id("agent"), version: 0), .init(account: b.id("agent"), available: SignedAmount(0))],
            [.init(account: b.id("agent"))],
            [.init(account: b.id("agent"), version: -1)],
        ]
        for (k, conditions) in cases.enumerated() {
            let result = try await b.ledger.post(NewTransfer(id: b.tid("c\(k)"), .post(postings), conditions: conditions))
            #expect(result.code == .invalidCondition, "\(conditions)")
        }
        let void = NewTransfer(id: b.tid("v"), .voidHold(b.tid("none")), conditions: [.init(account: b.id("agent"), version: 0)])
        #expect(try await b.ledger.post(void).code == .invalidCondition)
    }

    /// A key limited to an account prefix learns nothing from a condition on another tenant's
    /// account: its authority is checked before the condition, in the same call.
    @Test func aConditionTellsAKeyNothingOutsideItsPrefix() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "tenant:wallet", "other:wallet")
        _ = try await b.post("fund", [.debit(b.id("@world"), 100), .credit(b.id("other:wallet"), 100)])
        let key = PostingAuthority.apiKey(accountPrefix: "\(b.prefix):tenant:")
        for version: Int64 in [0, 1] {
            let probe = NewTransfer(
                id: b.tid("probe\(version)"), .post([.debit(b.id("other:wallet"), 1), .credit(b.id("tenant:wallet"), 1)]),
                conditions: [.init(account: b.id("other:wallet"), version: version)])
            #expect(try await b.ledger.post(probe, authority: key).code == .forbiddenAccount)
            let sweep = NewTransfer(
                id: b.tid("sweep\(version)"), .balancing(from: b.id("other:wallet"), to: b.id("tenant:wallet"), upTo: nil),
                conditions: [.init(account: b.id("other:wallet"), version: version)])
            #expect(try await b.ledger.post(sweep, authority: key).code == .forbiddenAccount)
        }
        #expect(try await b.balance("other:wallet").version == 1)
    }

    @Test func balancingMovesEverythingAvailableOrUpToAnAmount() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent!", "merchant")
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)])
        let hold = NewTransfer(id: b.tid("hold"), .hold([.debit(b.id("agent"), 100), .credit(b.id("merchant"), 100)], timeout: nil))
        #expect(try await b.ledger.post(hold).isCreated)

        let upTo = NewTransfer(id: b.tid("up-to"), .balancing(from: b.id("agent"), to: b.id("merchant"), upTo: 300))
        let first = try await b.ledger.post(upTo)
        #expect(first.isCreated && first.receipt?.amount == 300)
        let all = NewTransfer(id: b.tid("all"), .balancing(from: b.id("agent"), to: b.id("merchant"), upTo: 5_000))
        let rest = try await b.ledger.post(all)
        #expect(rest.isCreated && rest.receipt?.amount == 600, "the held 100 stays")
        let agent = try await b.balance("agent")
        #expect(agent.available == SignedAmount(0) && agent.posted == SignedAmount(100))

        // The stored transfer is a posted one with the amount moved.
        let stored = try #require(try await b.ledger.transfer(b.tid("all")))
        #expect(stored.kind == .posted)
        #expect(Set(stored.lines.map(\.amount)) == [SignedAmount(600)])
        #expect(stored.lines.first { $0.account == b.id("agent") }?.direction == .debit)

        // Retried: the same answer with the amount recorded then, though nothing is available now.
        #expect(try await b.ledger.post(all) == .exists(try #require(rest.receipt)))
        // A different bound under the same id is another request.
        var other = all
        other.action = .balancing(from: b.id("agent"), to: b.id("merchant"), upTo: 4_000)
        #expect(try await b.ledger.post(other).code == .existsWithDifferentFields)
    }

    @Test func balancingADebitNormalAccountCreditsIt() async throws {
        let b = try await Books.make()
        try await b.accounts("@clearing", "@bank", "agent")
        _ = try await b.post("deposit", [.debit(b.id("@clearing"), 250), .credit(b.id("agent"), 250)])
        let sweep = NewTransfer(id: b.tid("sweep"), .balancing(from: b.id("@clearing"), to: b.id("@bank"), upTo: nil))
        let result = try await b.ledger.post(sweep)
        #expect(result.receipt?.amount == 250)
        #expect(try await b.balance("@clearing").posted == SignedAmount(0))
        #expect(try await b.balance("@bank").posted == SignedAmount(250))
    }

    /// An empty account is refused with a code of its own, and nothing is written: a transfer
    /// of zero has no entries to record (decision 0030).
    @Test func balancingAnEmptyAccountIsRefused() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent", "merchant")
        let sweep = NewTransfer(id: b.tid("sweep"), .balancing(from: b.id("agent"), to: b.id("merchant"), upTo: nil))
        #expect(try await b.ledger.post(sweep).code == .nothingAvailable)
        // Overdrawn (the account has no limit): still nothing available.
        _ = try await b.post("overdraw", [.debit(b.id("agent"), 10), .credit(b.id("merchant"), 10)])
        #expect(try await b.ledger.post(sweep).code == .nothingAvailable)
        #expect(try await b.ledger.transfer(b.tid("sweep")) == nil)
        #expect(try await b.balance("agent").version == 1)

        let zero = NewTransfer(id: b.tid("zero"), .balancing(from: b.id("agent"), to: b.id("merchant"), upTo: 0))
        #expect(try await b.ledger.post(zero).code == .amountMustBePositive)
        let missing = NewTransfer(id: b.tid("missing"), .balancing(from: b.id("ghost"), to: b.id("merchant"), upTo: nil))
        #expect(try await b.ledger.post(missing).code == .accountNotFound)
    }

    /// 16 writers sweep four unlimited wallets ("everything" and "up to") while others fund them:
    /// no wallet ever goes below zero at any entry, and every unit swept reached the merchant.
    @Test func sixteenConcurrentSweepersNeverOverdraw() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "w0", "w1", "w2", "w3", "merchant")
        let ledger = b.ledger
        let moved = try await sweepConcurrently(b, rounds: 30, fund: 7, allowed: [.nothingAvailable]) { writer, id, wallet, upTo, commit in
            let sweep = NewTransfer(id: id, .balancing(from: wallet, to: b.id("merchant"), upTo: upTo))
            // Half go through group commit (mixed batches), half alone.
            return writer % 3 == 0 ? try await ledger.post(sweep) : try await commit.post(sweep)
        }
        var swept: UInt256 = 0
        for w in 0..<4 {
            let wallet = try await b.balance("w\(w)")
            #expect(wallet.available.isNegative == false, "w\(w) overdrawn: \(wallet)")
            swept = swept.adding(wallet.debitsPosted)!
            var cursor: String?
            repeat {
                let page = try await ledger.entries(of: b.id("w\(w)"), limit: 1_000, cursor: cursor)
                for entry in page.items {
                    #expect(entry.debitsPosted <= entry.creditsPosted, "w\(w) below zero at version \(entry.version)")
                }
                cursor = page.nextCursor
            } while cursor != nil
        }
        #expect(swept == moved, "the receipts' amounts are what left the wallets")
        #expect(try await b.balance("merchant").creditsPosted == moved)
        #expect(moved > 0)
        #expect(try await b.balance("@world").debitsPosted == UInt256(UInt64(4 * 30 * 7)))
    }
}

extension TransferResult {
    var receipt: Receipt? {
        switch self {
        case .created(let r), .exists(let r): r
        case .rejected: nil
        }
    }
}
