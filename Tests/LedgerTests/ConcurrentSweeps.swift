import Ledger
import ServiceLifecycle
import Testing

/// Sixteen writers over the four wallets `w0`…`w3` of a book, through group commit: every fourth
/// funds the wallet of its round with `fund`, the others post the balancing transfer `sweep` makes
/// of the round's wallet and bound (everything for even writers, 1 to 5 for odd ones). Each
/// created sweep's amount is checked against its bound; a rejection must have one of `allowed`.
/// - Returns: the sum of the amounts the created sweeps moved or held.
func sweepConcurrently(
    _ b: Books, rounds: Int, fund: UInt64, allowed: Set<LedgerError.Code>,
    sweep:
        @escaping @Sendable (_ writer: Int, _ id: TransferID, _ wallet: AccountID, _ upTo: UInt256?, GroupCommit) async throws ->
        TransferResult
) async throws -> UInt256 {
    let commit = GroupCommit(ledger: b.ledger)
    return try await withServices([commit]) {
        try await withThrowingTaskGroup(of: UInt256.self) { group in
            for task in 0..<16 {
                group.addTask {
                    var sum: UInt256 = 0
                    for round in 0..<rounds {
                        let wallet = b.id("w\((task + round) % 4)")
                        let id = b.tid("t\(task)-\(round)")
                        if task % 4 == 0 {
                            let funding = NewTransfer(
                                id: id, .post([.debit(b.id("@world"), UInt256(fund)), .credit(wallet, UInt256(fund))]))
                            #expect(try await commit.post(funding).isCreated)
                            continue
                        }
                        let upTo: UInt256? = task % 2 == 0 ? nil : UInt256(UInt64(1 + round % 5))
                        switch try await sweep(task, id, wallet, upTo, commit) {
                        case .created(let receipt):
                            let amount = try #require(receipt.amount)
                            #expect(!amount.isZero && amount <= (upTo ?? .max))
                            sum = sum.adding(amount)!
                        case .rejected(let error):
                            #expect(allowed.contains(error.code), "\(error)")
                        case .exists:
                            Issue.record("\(id) was sent once")
                        }
                    }
                    return sum
                }
            }
            var total: UInt256 = 0
            for try await part in group { total = total.adding(part)! }
            return total
        }
    }
}
