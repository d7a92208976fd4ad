import Foundation
import Ledger
import Testing

/// Random valid and invalid transfers against a model of the books: every result and every balance
/// must match the model, and `verify` must pass afterwards.
@Suite("Property: random transfers against a model")
struct PropertyTests {
    struct Model {
        var posted: [AccountID: (d: UInt256, c: UInt256)] = [:]
        var pending: [AccountID: (d: UInt256, c: UInt256)] = [:]
        var limited: Set<AccountID> = []
        var holds: [TransferID: [Posting]] = [:]
        var resolved: Set<TransferID> = []

        func ok(_ a: AccountID, extraDebit: UInt256) -> Bool {
            guard limited.contains(a) else { return true }
            let p = posted[a] ?? (0, 0), h = pending[a] ?? (0, 0)
            guard let out = p.d.adding(h.d)?.adding(extraDebit) else { return false }
            return out <= p.c
        }

        mutating func apply(_ postings: [Posting], pending isPending: Bool, sign: Bool = true) {
            for p in postings {
                if isPending {
                    var v = pending[p.account] ?? (0, 0)
                    if p.direction == .debit { v.d = sign ? v.d.adding(p.amount)! : v.d.subtracting(p.amount)! } else { v.c = sign ? v.c.adding(p.amount)! : v.c.subtracting(p.amount)! }
                    pending[p.account] = v
                } else {
                    var v = posted[p.account] ?? (0, 0)
                    if p.direction == .debit { v.d = v.d.adding(p.amount)! } else { v.c = v.c.adding(p.amount)! }
                    posted[p.account] = v
                }
            }
        }
    }

    @Test(arguments: [1, 2, 3])
    func randomBatchesMatchTheModel(seed: UInt64) async throws {
        let b = try await Books.make()
        let names = ["@world", "a!", "b!", "c!", "d", "e"]
        try await b.accounts("@world", "a!", "b!", "c!", "d", "e")
        let ids = names.map { b.id($0.replacingOccurrences(of: "!", with: "")) }
        var model = Model()
        model.limited = Set([ids[1], ids[2], ids[3]])
        var rng = SplitMix64(state: seed)
        var counter = 0
        for _ in 0..<30 {
            var batch: [NewTransfer] = []
            var expected: [LedgerError.Code?] = []
            var shadow = model
            for _ in 0..<Int.random(in: 1...40, using: &rng) {
                counter += 1
                let id = b.tid("r\(counter)")
                let roll = Int.random(in: 0..<100, using: &rng)
                if roll < 10, let (hold, postings) = model.holds.first(where: { !shadow.resolved.contains($0.key) }).map({ ($0.key, $0.value) }) {
                    // Resolve an open hold: post it or void it.
                    let post = Bool.random(using: &rng)
                    batch.append(NewTransfer(id: id, post ? .postHold(hold, amount: nil) : .voidHold(hold)))
                    shadow.apply(postings, pending: true, sign: false)
                    if post { shadow.apply(postings, pending: false) }
                    shadow.resolved.insert(hold)
                    expected.append(nil)
                    continue
                }
                let from = ids[Int.random(in: 0..<ids.count, using: &rng)]
                var to = ids[Int.random(in: 0..<ids.count, using: &rng)]
                if to == from { to = ids[(ids.firstIndex(of: from)! + 1) % ids.count] }
                let amount = UInt256(UInt64.random(in: roll < 15 ? 0...0 : 1...500, using: &rng))
                let postings: [Posting] = [.debit(from, amount), .credit(to, amount)]
                let hold = roll >= 15 && roll < 30
                batch.append(NewTransfer(id: id, hold ? .hold(postings, timeout: nil) : .post(postings)))
                if amount.isZero {
                    expected.append(.amountMustBePositive)
                } else if !shadow.ok(from, extraDebit: amount) {
                    expected.append(.exceedsCredits)
                } else {
                    shadow.apply(postings, pending: hold)
                    if hold { shadow.holds[id] = postings }
                    expected.append(nil)
                }
            }
            let results = try await b.ledger.post(batch)
            #expect(results.map(\.code) == expected)
            model = shadow
        }
        for (name, id) in zip(names, ids) {
            let bal = try await b.ledger.balance(of: id)
            let p = model.posted[id] ?? (0, 0), h = model.pending[id] ?? (0, 0)
            #expect(bal.debitsPosted == p.d && bal.creditsPosted == p.c && bal.debitsPending == h.d && bal.creditsPending == h.c, "\(name)")
        }
        let report = try await b.ledger.verify()
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
    }
}
