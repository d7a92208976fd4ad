import Foundation
import Ledger
import Testing

@Suite("Holds and reversals")
struct HoldTests {
    /// A funded agent with a no-overdraft limit, a merchant and a held amount.
    private func setUp(hold: UInt256 = 100, timeout: Int64? = nil) async throws -> Books {
        let b = try await Books.make()
        try await b.accounts("@world", "agent!", "merchant")
        #expect(try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)]).isCreated)
        let r = try await b.ledger.post(
            NewTransfer(id: b.tid("hold"), .hold([.debit(b.id("agent"), hold), .credit(b.id("merchant"), hold)], timeout: timeout)))
        #expect(r.isCreated)
        return b
    }

    @Test func holdCountsAgainstTheLimit() async throws {
        let b = try await setUp(hold: 900)
        let agent = try await b.balance("agent")
        #expect(agent.debitsPending == 900 && agent.available == SignedAmount(100) && agent.posted == SignedAmount(1_000))
        #expect(try await b.post("spend", [.debit(b.id("agent"), 101), .credit(b.id("merchant"), 101)]).code == .exceedsCredits)
        #expect(try await b.post("spend2", [.debit(b.id("agent"), 100), .credit(b.id("merchant"), 100)]).isCreated)
        #expect(try await b.ledger.transfer(b.tid("hold"))?.holdState == .pending)
    }

    @Test func postInFullThenNotAgain() async throws {
        let b = try await setUp()
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("cap"), .postHold(b.tid("hold"), amount: nil))).isCreated)
        let agent = try await b.balance("agent")
        #expect(agent.debitsPending == 0 && agent.debitsPosted == 100)
        #expect(try await b.balance("merchant").creditsPosted == 100)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("cap2"), .postHold(b.tid("hold"), amount: nil))).code == .pendingTransferAlreadyPosted)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("void"), .voidHold(b.tid("hold")))).code == .pendingTransferAlreadyPosted)
        #expect(try await b.ledger.transfer(b.tid("hold"))?.holdState == .posted)
        // The capture's own id is idempotent.
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("cap"), .postHold(b.tid("hold"), amount: nil))).isExists)
    }

    @Test func partialPostReleasesTheRest() async throws {
        let b = try await setUp()
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("big"), .postHold(b.tid("hold"), amount: 101))).code == .exceedsPendingAmount)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("cap"), .postHold(b.tid("hold"), amount: 60))).isCreated)
        let agent = try await b.balance("agent")
        #expect(agent.debitsPending == 0 && agent.debitsPosted == 60 && agent.available == SignedAmount(940))
        let m = try await b.balance("merchant")
        #expect(m.creditsPending == 0 && m.creditsPosted == 60)
    }

    @Test func voidThenNothingElse() async throws {
        let b = try await setUp()
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("void"), .voidHold(b.tid("hold")))).isCreated)
        #expect(try await b.balance("agent").debitsPending == 0)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("cap"), .postHold(b.tid("hold"), amount: nil))).code == .pendingTransferAlreadyVoided)
        #expect(try await b.ledger.transfer(b.tid("hold"))?.holdState == .voided)
    }

    @Test func wrongParents() async throws {
        let b = try await setUp()
        _ = try await b.post("plain", [.debit(b.id("agent"), 1), .credit(b.id("merchant"), 1)])
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("a"), .postHold(b.tid("nope"), amount: nil))).code == .pendingTransferNotFound)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("b"), .postHold(b.tid("plain"), amount: nil))).code == .transferNotPending)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("c"), .reverse(b.tid("hold")))).code == .transferNotReversible)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("d"), .reverse(b.tid("nope")))).code == .transferNotFound)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("e"), .post([.debit(b.id("agent"), 1), .credit(b.id("merchant"), 1)]), parent: b.tid("nope"))).code == .parentNotFound)
        let misplaced = NewTransfer(id: b.tid("f"), .voidHold(b.tid("hold")), parent: b.tid("plain"))
        #expect(try await b.ledger.post(misplaced).code == .parentNotAllowed)
        let refund = NewTransfer(id: b.tid("refund"), .post([.debit(b.id("merchant"), 1), .credit(b.id("agent"), 1)]), parent: b.tid("plain"))
        #expect(try await b.ledger.post(refund).isCreated)
        #expect(try await b.ledger.transfer(b.tid("refund"))?.parent == b.tid("plain"))
    }

    @Test func twoResolutionsInOneBatch() async throws {
        let b = try await setUp()
        let results = try await b.ledger.post([
            NewTransfer(id: b.tid("cap"), .postHold(b.tid("hold"), amount: 10)),
            NewTransfer(id: b.tid("void"), .voidHold(b.tid("hold"))),
        ])
        #expect(results[0].isCreated && results[1].code == .pendingTransferAlreadyPosted)
    }

    @Test func expiredHoldsCannotBePostedAndAreVoidedOnce() async throws {
        let b = try await setUp(timeout: 1)
        try await Task.sleep(for: .milliseconds(1_300))
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("late"), .postHold(b.tid("hold"), amount: nil))).code == .pendingTransferExpired)
        #expect(try await b.ledger.transfer(b.tid("hold"))?.holdState == .expired)
        #expect(try await b.balance("agent").debitsPending == 100)
        // Other tests' holds may expire in the same sweep; ours must be among them, and only once.
        _ = try await b.ledger.expireHolds()
        #expect(try await b.balance("agent").debitsPending == 0)
        #expect(try await b.balance("merchant").creditsPending == 0)
        let versionAfter = try await b.balance("agent").version
        _ = try await b.ledger.expireHolds()
        #expect(try await b.balance("agent").version == versionAfter)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("void"), .voidHold(b.tid("hold")))).code == .pendingTransferExpired)
    }

    @Test func holdWithTimeoutZeroOrPostWithZeroAreRefused() async throws {
        let b = try await setUp()
        let zeroTimeout = NewTransfer(id: b.tid("z"), .hold([.debit(b.id("agent"), 1), .credit(b.id("merchant"), 1)], timeout: 0))
        #expect(try await b.ledger.post(zeroTimeout).code == .invalidTimeout)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("z2"), .postHold(b.tid("hold"), amount: 0))).code == .amountMustBePositive)
    }

    @Test func reversalMirrorsAndOnlyOnce() async throws {
        let b = try await setUp()
        _ = try await b.post("pay", [.debit(b.id("agent"), 30), .credit(b.id("merchant"), 30)])
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("rev"), .reverse(b.tid("pay")))).isCreated)
        let agent = try await b.balance("agent")
        #expect(agent.debitsPosted == 30 && agent.creditsPosted == 1_030 && agent.posted == SignedAmount(1_000))
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("rev2"), .reverse(b.tid("pay")))).code == .transferAlreadyReversed)
        // Reversing a capture reverses only what was posted.
        _ = try await b.ledger.post(NewTransfer(id: b.tid("cap"), .postHold(b.tid("hold"), amount: 40)))
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("rev3"), .reverse(b.tid("cap")))).isCreated)
        #expect(try await b.balance("merchant").posted == SignedAmount(0))
    }

    @Test func reversalRespectsLimits() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent!", "merchant!")
        _ = try await b.post("fund", [.debit(b.id("@world"), 50), .credit(b.id("agent"), 50)])
        _ = try await b.post("pay", [.debit(b.id("agent"), 50), .credit(b.id("merchant"), 50)])
        _ = try await b.post("spent", [.debit(b.id("merchant"), 50), .credit(b.id("@world"), 50)])
        // The merchant spent the money: taking it back would overdraw it.
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("rev"), .reverse(b.tid("pay")))).code == .exceedsCredits)
    }
}
