import Foundation
import Ledger
import Testing

@Suite("Roll-ups of account subtrees")
struct RollUpTests {
    /// Random transfers, some back-dated, some holds, snapshots in between: at random times the
    /// roll-up of a subtree equals the sum of its accounts' own point-in-time balances.
    @Test func aRollUpIsTheSumOfItsAccountsAtAnyTime() async throws {
        let b = try await Books.make()
        let leaves = ["acme:eu:1", "acme:eu:2", "acme:us:1", "acme_x:1", "other:1"]
        try await b.accounts("@world", "acme:eu:1", "acme:eu:2", "acme:us:1", "acme_x:1", "other:1")
        let t0 = Date(timeIntervalSince1970: 1_790_000_000)
        var generator = SystemRandomNumberGenerator()
        for n in 0..<120 {
            let leaf = leaves[Int.random(in: 0..<leaves.count, using: &generator)]
            let amount = UInt256(UInt64.random(in: 1...1_000_000, using: &generator))
            let at = t0 + TimeInterval(Int.random(in: 0..<(10 * 86_400), using: &generator))
            let action: NewTransfer.Action =
                n % 7 == 0
                ? .hold([.debit(b.id("@world"), amount), .credit(b.id(leaf), amount)], timeout: nil)
                : .post([.debit(b.id("@world"), amount), .credit(b.id(leaf), amount)])
            let result = try await b.ledger.post(NewTransfer(id: b.tid("r\(n)"), action, effectiveAt: at))
            #expect(result.isCreated, "\(result)")
            if n % 40 == 39 { try await b.ledger.takeSnapshots(at: t0 + TimeInterval(n / 40 * 3 * 86_400)) }
        }
        let times: [Date?] = [nil, t0 - 1] + (0..<6).map { _ in t0 + TimeInterval(Int.random(in: 0..<(11 * 86_400))) }
        for prefix in ["\(b.prefix):acme:", "\(b.prefix):acme:eu:", "\(b.prefix):acme_", "\(b.prefix):"] {
            for at in times {
                var expected = (dp: UInt256.zero, cp: UInt256.zero, dpe: UInt256.zero, cpe: UInt256.zero, n: 0)
                for account in ["@world"] + leaves where b.id(account).rawValue.hasPrefix(prefix) {
                    let balance = try await b.ledger.balance(of: b.id(account), asOf: at)
                    expected.dp = try #require(expected.dp.adding(balance.debitsPosted))
                    expected.cp = try #require(expected.cp.adding(balance.creditsPosted))
                    expected.dpe = try #require(expected.dpe.adding(balance.debitsPending))
                    expected.cpe = try #require(expected.cpe.adding(balance.creditsPending))
                    expected.n += 1
                }
                let rollUp = try await b.ledger.rollUp(prefix: prefix, asOf: at)
                #expect(rollUp.count == 1, "\(prefix) at \(String(describing: at))")
                let sums = try #require(rollUp.first)
                #expect(sums.asset == b.asset && sums.accounts == expected.n, "\(prefix)")
                #expect(sums.debitsPosted == expected.dp && sums.creditsPosted == expected.cp, "\(prefix) at \(String(describing: at))")
                #expect(sums.debitsPending == expected.dpe && sums.creditsPending == expected.cpe, "\(prefix) at \(String(describing: at))")
            }
        }
        // `_` is taken literally: `acme_` is not `acme:`.
        #expect(try await b.ledger.rollUp(prefix: "\(b.prefix):acme_").first?.accounts == 1)
        #expect(try await b.ledger.rollUp(prefix: "\(b.prefix):nobody:").isEmpty)
        await #expect(throws: LedgerError.self) { try await b.ledger.rollUp(prefix: ":bad") }
        await #expect(throws: LedgerError.self) { try await b.ledger.rollUp(prefix: "a%") }
    }
}
