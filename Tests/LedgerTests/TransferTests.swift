import Foundation
import Ledger
import Testing

@Suite("Posting transfers")
struct TransferTests {
    @Test func postsAndBalances() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent!", "merchant")
        #expect(try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)]).isCreated)
        #expect(try await b.post("pay", [.debit(b.id("agent"), 400), .credit(b.id("merchant"), 400)]).isCreated)
        let agent = try await b.balance("agent")
        #expect(agent.creditsPosted == 1_000 && agent.debitsPosted == 400 && agent.version == 2)
        #expect(agent.posted == SignedAmount(600) && agent.available == SignedAmount(600))
        let world = try await b.balance("@world")
        #expect(world.posted == SignedAmount(1_000))
        let t = try #require(try await b.ledger.transfer(b.tid("pay")))
        #expect(t.kind == .posted && t.lines.count == 2)
    }

    @Test func multiLegTransfersBalancePerAsset() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent!", "merchant", "fees")
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)])
        let r = try await b.post("pay", [.debit(b.id("agent"), 100), .credit(b.id("merchant"), 99), .credit(b.id("fees"), 1)])
        #expect(r.isCreated)
        #expect(try await b.balance("fees").posted == SignedAmount(1))
    }

    @Test func idempotency() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "a")
        let first = try await b.post("x", [.debit(b.id("@world"), 5), .credit(b.id("a"), 5)], metadata: ["k": .string("v")])
        guard case .created(let receipt) = first else { Issue.record("not created: \(first)"); return }
        let again = try await b.post("x", [.debit(b.id("@world"), 5), .credit(b.id("a"), 5)], metadata: ["k": .string("v")])
        #expect(again == .exists(receipt))
        let other = try await b.post("x", [.debit(b.id("@world"), 6), .credit(b.id("a"), 6)], metadata: ["k": .string("v")])
        #expect(other.code == .existsWithDifferentFields)
        let otherMeta = try await b.post("x", [.debit(b.id("@world"), 5), .credit(b.id("a"), 5)])
        #expect(otherMeta.code == .existsWithDifferentFields)
        #expect(try await b.balance("a").creditsPosted == 5)
    }

    @Test func duplicatesWithinOneBatch() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "a")
        let t = NewTransfer(id: b.tid("d"), .post([.debit(b.id("@world"), 5), .credit(b.id("a"), 5)]))
        var changed = t
        changed.action = .post([.debit(b.id("@world"), 7), .credit(b.id("a"), 7)])
        let results = try await b.ledger.post([t, t, changed])
        #expect(results[0].isCreated && results[1].isExists)
        #expect(results[2].code == .existsWithDifferentFields)
        #expect(try await b.balance("a").creditsPosted == 5)
    }

    @Test(arguments: [
        ("unbalanced", LedgerError.Code.unbalanced),
        ("unknown", .accountNotFound),
        ("one", .tooFewPostings),
        ("dup", .duplicateAccount),
        ("zero", .amountMustBePositive),
        ("cross", .postingsAcrossAssets),
        ("closed", .accountClosed),
        ("overdraft", .exceedsCredits),
        ("overflow", .overflow),
    ])
    func badTransfersAreRejectedAndWriteNothing(_ kind: String, _ code: LedgerError.Code) async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "a!", "m", "shut")
        let other = try AssetID("\(b.prefix)-eur")
        _ = try await b.ledger.createAssets([Asset(id: other, code: "EUR", scale: 2)])
        _ = try await b.ledger.createAccounts([Account(id: b.id("eur"), asset: other, normalSide: .credit)])
        try await b.ledger.closeAccount(b.id("shut"))
        _ = try await b.post("fund", [.debit(b.id("@world"), 100), .credit(b.id("a"), 100)])
        let w = b.id("@world"), a = b.id("a"), m = b.id("m")
        let postings: [Posting] =
            switch kind {
            case "unbalanced": [.debit(a, 10), .credit(m, 9)]
            case "unknown": [.debit(a, 10), .credit(b.id("nobody"), 10)]
            case "one": [.debit(a, 10)]
            case "dup": [.debit(a, 10), .credit(a, 10)]
            case "zero": [.debit(a, 0), .credit(m, 0)]
            case "cross": [.debit(a, 10), .credit(b.id("eur"), 10)]
            case "closed": [.debit(a, 10), .credit(b.id("shut"), 10)]
            case "overdraft": [.debit(a, 101), .credit(m, 101)]
            default: [.debit(w, .max), .credit(m, .max)]
            }
        if kind == "overflow" {
            // @world already owes 100: this brings its debits to exactly 2^256-1.
            let big = UInt256.max.subtracting(100)!
            #expect(try await b.post("big", [.debit(w, big), .credit(m, big)]).isCreated)
        }
        let before = try await b.balance("m")
        let r = try await b.post("bad", postings)
        #expect(r.code == code, "\(r)")
        #expect(try await b.ledger.transfer(b.tid("bad")) == nil)
        #expect(try await b.balance("m") == before)
        #expect(try await b.balance("a").debitsPosted == 0)
    }

    @Test func malformedIDsAreTypedErrors() {
        for bad in ["", " a", "a b", "-a", String(repeating: "x", count: 129), "é", "~expire:1"] {
            #expect(throws: LedgerError.self) { try TransferID(bad) }
            do { _ = try AccountID(bad) } catch { #expect(error.code == .malformedID) }
        }
        let valid: String = "merchant:acme/usdc@base+1.x_y-z"
        #expect((try? AccountID(valid)) != nil)
    }

    @Test func batchOfEightThousandWithMixedResults() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "a!", "m")
        _ = try await b.post("fund", [.debit(b.id("@world"), 6_000), .credit(b.id("a"), 6_000)])
        let batch = (0..<8_000).map { k in
            NewTransfer(id: b.tid("p\(k)"), .post([.debit(b.id("a"), 1), .credit(b.id("m"), 1)]))
        }
        let results = try await b.ledger.post(batch)
        #expect(results.count == 8_000)
        // The first 6,000 fit the limit; the rest are refused, in order.
        let notCreated = results[..<6_000].filter { !$0.isCreated }
        #expect(notCreated.isEmpty, "\(notCreated.prefix(5))")
        let notRefused = results[6_000...].filter { $0.code != .exceedsCredits }
        #expect(notRefused.isEmpty, "\(notRefused.prefix(5))")
        let a = try await b.balance("a")
        #expect(a.debitsPosted == 6_000 && a.version == 6_001)
        #expect(try await b.balance("m").creditsPosted == 6_000)
    }

    @Test func atomicBatchIsAllOrNothing() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "a!", "m")
        _ = try await b.post("fund", [.debit(b.id("@world"), 10), .credit(b.id("a"), 10)])
        let ok = NewTransfer(id: b.tid("ok"), .post([.debit(b.id("a"), 5), .credit(b.id("m"), 5)]))
        let bad = NewTransfer(id: b.tid("bad"), .post([.debit(b.id("a"), 50), .credit(b.id("m"), 50)]))
        let results = try await b.ledger.post([ok, bad], atomic: true)
        #expect(results[0].code == .atomicBatchFailed && results[1].code == .exceedsCredits)
        #expect(try await b.ledger.transfer(b.tid("ok")) == nil)
        // A Swift-side validation failure also fails the whole atomic batch, before any I/O.
        let zero = NewTransfer(id: b.tid("zero"), .post([.debit(b.id("a"), 0), .credit(b.id("m"), 0)]))
        let r2 = try await b.ledger.post([ok, zero], atomic: true)
        #expect(r2[0].code == .atomicBatchFailed && r2[1].code == .amountMustBePositive)
        let r3 = try await b.ledger.post([ok], atomic: true)
        #expect(r3[0].isCreated)
        #expect(try await b.ledger.post([ok], atomic: true)[0].isExists)
    }

    @Test func railReferenceIsUnique() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "a")
        let ref = NewTransfer.RailReference(rail: "erc20", reference: "\(b.prefix):0xabc:1")
        let t1 = NewTransfer(id: b.tid("r1"), .post([.debit(b.id("@world"), 1), .credit(b.id("a"), 1)]), railReference: ref)
        let t2 = NewTransfer(id: b.tid("r2"), .post([.debit(b.id("@world"), 1), .credit(b.id("a"), 1)]), railReference: ref)
        #expect(try await b.ledger.post(t1).isCreated)
        #expect(try await b.ledger.post(t2).code == .railReferenceExists)
        #expect(try await b.ledger.transfer(b.tid("r1"))?.railReference == ref)
    }

    @Test func oversizedBatchIsRefused() async throws {
        let b = try await Books.make()
        let batch = (0...PostgresLedger.maxBatchSize).map { NewTransfer(id: b.tid("o\($0)"), .post([])) }
        await #expect(throws: LedgerError.self) { try await b.ledger.post(batch) }
    }

    @Test func jsonFormRoundTripsAndRejectsUnknownFields() throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let text =
            #"{"id":"p1","type":"hold","timeout":30,"postings":[{"direction":"debit","account":"a","amount":"115792089237316195423570985008687907853269984665640564039457584007913129639935"},{"direction":"credit","account":"b","amount":"1"}],"effective_at":"2026-11-24T10:00:00Z"}"#
        let t = try decoder.decode(NewTransfer.self, from: Data(text.utf8))
        guard case .hold(let postings, let timeout) = t.action else { Issue.record("not a hold"); return }
        #expect(postings[0].amount == .max && timeout == 30)
        #expect(throws: DecodingError.self) {
            try decoder.decode(NewTransfer.self, from: Data(#"{"id":"p1","postings":[],"colour":1}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try decoder.decode(
                NewTransfer.self, from: Data(#"{"id":"p1","postings":[{"direction":"debit","account":"a","amount":12}]}"#.utf8))
        }
        #expect(throws: DecodingError.self) { try decoder.decode(NewTransfer.self, from: Data(#"{"id":"p1","type":"void_hold"}"#.utf8)) }
    }
}
