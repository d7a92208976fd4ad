import Foundation
import Ledger
import PostgresNIO
import SettleTesting
import Testing

/// Balancing holds, balancing clamped by the destination's limit, and bounds on the available
/// balance in conditions (decision 0043).
@Suite("Balancing holds, destination limits and bounds")
struct BalancingHoldTests {
    @Test func aBalancingHoldHoldsWhatIsAvailableAndIsPostedOrVoidedAsAnyHold() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent!", "merchant")
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)])

        let hold = NewTransfer(id: b.tid("hold"), .balancingHold(from: b.id("agent"), to: b.id("merchant"), upTo: 700, timeout: 3_600))
        let held = try await b.ledger.post(hold)
        #expect(held.isCreated && held.receipt?.amount == 700)
        let stored = try #require(try await b.ledger.transfer(b.tid("hold")))
        #expect(stored.kind == .pending)
        #expect(Set(stored.lines.map(\.amount)) == [SignedAmount(700)])
        #expect(stored.lines.first { $0.account == b.id("agent") }?.direction == .debit)
        var agent = try await b.balance("agent")
        #expect(agent.available == SignedAmount(300) && agent.posted == SignedAmount(1_000))

        // Everything that is left, held too; then nothing is available for a third.
        let rest = NewTransfer(id: b.tid("rest"), .balancingHold(from: b.id("agent"), to: b.id("merchant"), upTo: nil, timeout: nil))
        #expect(try await b.ledger.post(rest).receipt?.amount == 300)
        let none = NewTransfer(id: b.tid("none"), .balancingHold(from: b.id("agent"), to: b.id("merchant"), upTo: nil, timeout: nil))
        #expect(try await b.ledger.post(none).code == .nothingAvailable)

        // Retried: the amount held then, though nothing is available now; another timeout is another request.
        #expect(try await b.ledger.post(hold) == .exists(try #require(held.receipt)))
        var other = hold
        other.action = .balancingHold(from: b.id("agent"), to: b.id("merchant"), upTo: 700, timeout: 60)
        #expect(try await b.ledger.post(other).code == .existsWithDifferentFields)
        other.action = .balancing(from: b.id("agent"), to: b.id("merchant"), upTo: 700)
        #expect(try await b.ledger.post(other).code == .existsWithDifferentFields, "a posted balancing is another request")

        // Posted in part: the rest of the hold is released; the other hold is voided.
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("capture"), .postHold(b.tid("hold"), amount: 400))).isCreated)
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("release"), .voidHold(b.tid("rest")))).isCreated)
        agent = try await b.balance("agent")
        #expect(agent.available == SignedAmount(600) && agent.posted == SignedAmount(600))
        #expect(try await b.balance("merchant").posted == SignedAmount(400))
        // The hold's answer stays what it held.
        #expect(try await b.ledger.post(hold).receipt?.amount == 700)
    }

    @Test func aBalancingHoldIsCheckedAsAHold() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent", "merchant")
        let bad: [(NewTransfer.Action, LedgerError.Code)] = [
            (.balancingHold(from: b.id("agent"), to: b.id("merchant"), upTo: nil, timeout: 0), .invalidTimeout),
            (.balancingHold(from: b.id("agent"), to: b.id("merchant"), upTo: 0, timeout: nil), .amountMustBePositive),
            (.balancingHold(from: b.id("agent"), to: b.id("agent"), upTo: nil, timeout: nil), .duplicateAccount),
            (.balancingHold(from: b.id("agent"), to: b.id("merchant"), upTo: nil, timeout: nil), .nothingAvailable),
        ]
        for (k, (action, code)) in bad.enumerated() {
            #expect(try await b.ledger.post(NewTransfer(id: b.tid("bad\(k)"), action)).code == code, "\(action)")
        }
        #expect(try await b.balance("agent").version == 0)
    }

    /// `{"type": "balancing", "pending": true, "timeout": 60}` is a balancing hold; a timeout
    /// without `pending: true` is malformed; the posted form encodes as before.
    @Test func theJSONOfABalancingHold() throws {
        let decoder = JSONDecoder()
        let hold = try decoder.decode(
            NewTransfer.self,
            from: Data(#"{"id": "h", "type": "balancing", "from": "a", "to": "b", "up_to": "5", "pending": true, "timeout": 60}"#.utf8))
        #expect(hold.action == .balancingHold(from: "a", to: "b", upTo: 5, timeout: 60))
        let roundTrip = try decoder.decode(NewTransfer.self, from: try JSONEncoder().encode(hold))
        #expect(roundTrip == hold)
        let posted = try decoder.decode(
            NewTransfer.self, from: Data(#"{"id": "p", "type": "balancing", "from": "a", "to": "b", "pending": false}"#.utf8))
        #expect(posted.action == .balancing(from: "a", to: "b", upTo: nil))
        #expect(!String(decoding: try JSONEncoder().encode(posted), as: UTF8.self).contains("pending"))
        for body in [
            #"{"id": "x", "type": "balancing", "from": "a", "to": "b", "timeout": 60}"#,
            #"{"id": "x", "type": "balancing", "from": "a", "to": "b", "pending": false, "timeout": 60}"#,
            #"{"id": "x", "type": "hold", "postings": [], "pending": true}"#,
            #"{"id": "x", "type": "balancing", "from": "a", "to": "b", "pending": "yes"}"#,
        ] {
            #expect(throws: DecodingError.self, "\(body)") { try decoder.decode(NewTransfer.self, from: Data(body.utf8)) }
        }
    }

    /// A credit-normal source into a destination that may take credits only up to its debits (a
    /// spending cap, TigerBeetle's rate-limiting recipe): the amount is clamped to the room left,
    /// and with no room the transfer is refused with a code of its own.
    @Test func aBalancingTransferIsClampedByTheDestinationsLimit() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent", "merchant")
        let cap = b.id("cap")
        #expect(
            try await b.ledger.createAccounts([Account(id: cap, asset: b.asset, normalSide: .credit, limit: .creditsMustNotExceedDebits)])
                == [.created])
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)])
        _ = try await b.post("allow", [.debit(cap, 300), .credit(b.id("@world"), 300)])

        let first = try await b.ledger.post(NewTransfer(id: b.tid("s1"), .balancing(from: b.id("agent"), to: cap, upTo: 100)))
        #expect(first.receipt?.amount == 100, "the source's bound first")
        // A hold at the cap counts against its room as the limit counts it.
        let held = try await b.ledger.post(
            NewTransfer(id: b.tid("h1"), .balancingHold(from: b.id("agent"), to: cap, upTo: nil, timeout: nil)))
        #expect(held.receipt?.amount == 200, "clamped to the cap's room, not the agent's 900")
        let full = NewTransfer(id: b.tid("s2"), .balancing(from: b.id("agent"), to: cap, upTo: nil))
        #expect(try await b.ledger.post(full).code == .destinationFull)
        #expect(try await b.ledger.transfer(b.tid("s2")) == nil)
        #expect(try await b.balance("agent").available == SignedAmount(700))

        // Released, the room is back. An ordinary transfer past the limit is still refused.
        #expect(try await b.ledger.post(NewTransfer(id: b.tid("v1"), .voidHold(b.tid("h1")))).isCreated)
        let plain = try await b.post("over", [.debit(b.id("agent"), 250), .credit(cap, 250)])
        #expect(plain.code == .exceedsDebits)
        #expect(try await b.ledger.post(full).receipt?.amount == 200)

        // An empty source is nothing_available whatever the destination.
        let drained = NewTransfer(id: b.tid("s3"), .balancing(from: b.id("merchant"), to: cap, upTo: nil))
        #expect(try await b.ledger.post(drained).code == .nothingAvailable)
    }

    /// A debit-normal source is credited, so the destination is debited: its limit on debits clamps.
    @Test func aDebitedDestinationIsClampedByItsCredits() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "@clearing", "@bank!", "agent")
        _ = try await b.post("deposit", [.debit(b.id("@clearing"), 500), .credit(b.id("agent"), 500)])
        _ = try await b.post("line", [.debit(b.id("@world"), 200), .credit(b.id("@bank"), 200)])
        let sweep = NewTransfer(id: b.tid("sweep"), .balancing(from: b.id("@clearing"), to: b.id("@bank"), upTo: nil))
        #expect(try await b.ledger.post(sweep).receipt?.amount == 200)
        #expect(try await b.balance("@clearing").posted == SignedAmount(300))
        #expect(try await b.balance("@bank").posted == SignedAmount(0))
        let again = NewTransfer(id: b.tid("again"), .balancing(from: b.id("@clearing"), to: b.id("@bank"), upTo: nil))
        #expect(try await b.ledger.post(again).code == .destinationFull)
    }

    @Test func boundsOnTheAvailableBalanceAreCheckedUnderTheLock() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent", "merchant")
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)])
        func pay(_ id: String, atLeast: SignedAmount? = nil, atMost: SignedAmount? = nil) -> NewTransfer {
            NewTransfer(
                id: b.tid(id), .post([.debit(b.id("agent"), 100), .credit(b.id("merchant"), 100)]),
                conditions: [.init(account: b.id("agent"), availableAtLeast: atLeast, availableAtMost: atMost)])
        }
        #expect(try await b.ledger.post(pay("p1", atLeast: SignedAmount(1_000))).isCreated, "at least is inclusive")
        #expect(try await b.ledger.post(pay("p2", atLeast: SignedAmount(1_000))).code == .balanceMismatch)
        #expect(try await b.ledger.post(pay("p3", atMost: SignedAmount(500))).code == .balanceMismatch)
        #expect(try await b.balance("agent").version == 2, "a mismatch writes nothing")
        #expect(try await b.ledger.post(pay("p4", atLeast: SignedAmount(900), atMost: SignedAmount(900))).isCreated)
        #expect(try await b.ledger.post(pay("p5", atLeast: SignedAmount(900), atMost: SignedAmount(800))).code == .invalidCondition)

        // Negative bounds on an overdrawn account without a limit; the batch sees the transfers before.
        let batch = [
            NewTransfer(id: b.tid("b1"), .post([.debit(b.id("agent"), 1_000), .credit(b.id("merchant"), 1_000)])),
            pay("b2", atMost: SignedAmount(0)),
            pay("b3", atLeast: SignedAmount(200, negative: true), atMost: SignedAmount(200, negative: true)),
            pay("b4", atLeast: SignedAmount(300, negative: true)),
        ]
        let results = try await b.ledger.post(batch)
        #expect(results[0].isCreated && results[1].isCreated)
        #expect(results[2].code == .balanceMismatch, "-300 after b2")
        #expect(results[3].isCreated)
        #expect(try await b.balance("agent").available == SignedAmount(400, negative: true))

        // Exact and bounds together: every part must hold.
        let both = NewTransfer(
            id: b.tid("both"), .balancing(from: b.id("merchant"), to: b.id("agent"), upTo: 50),
            conditions: [.init(account: b.id("merchant"), available: SignedAmount(1_400), availableAtMost: SignedAmount(1_000))])
        #expect(try await b.ledger.post(both).code == .balanceMismatch)
    }

    @Test func theJSONOfBounds() throws {
        let condition = try JSONDecoder().decode(
            NewTransfer.Condition.self, from: Data(#"{"account": "a", "available_gte": "-5", "available_lte": "10"}"#.utf8))
        #expect(condition == .init(account: "a", availableAtLeast: SignedAmount(5, negative: true), availableAtMost: SignedAmount(10)))
        #expect(try JSONDecoder().decode(NewTransfer.Condition.self, from: try JSONEncoder().encode(condition)) == condition)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(NewTransfer.Condition.self, from: Data(#"{"account": "a"}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(NewTransfer.Condition.self, from: Data(#"{"account": "a", "available_gt": "1"}"#.utf8))
        }
    }
    /// 16 writers hold and sweep four wallets into one capped destination while others fund the
    /// wallets: the cap's limit is never passed (posted plus held credits within its debits), no
    /// wallet goes below zero, and the receipts' amounts are exactly what the cap took.
    @Test func sixteenConcurrentBalancingHoldsNeverPassTheCap() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "w0!", "w1!", "w2!", "w3!")
        let cap = b.id("cap")
        #expect(
            try await b.ledger.createAccounts([Account(id: cap, asset: b.asset, normalSide: .credit, limit: .creditsMustNotExceedDebits)])
                == [.created])
        _ = try await b.post("allow", [.debit(cap, 500), .credit(b.id("@world"), 500)])
        let taken = try await sweepConcurrently(b, rounds: 20, fund: 9, allowed: [.nothingAvailable, .destinationFull]) {
            writer, id, wallet, upTo, commit in
            let action: NewTransfer.Action =
                writer % 3 == 0
                ? .balancing(from: wallet, to: cap, upTo: upTo) : .balancingHold(from: wallet, to: cap, upTo: upTo, timeout: nil)
            return try await commit.post(NewTransfer(id: id, action))
        }
        let capped = try await b.balance("cap")
        #expect(capped.creditsPosted.adding(capped.creditsPending)! == taken)
        #expect(taken <= UInt256(500) && taken > 0)
        for w in 0..<4 {
            #expect(try await b.balance("w\(w)").available.isNegative == false)
        }
    }
    /// The 23-argument conditional function of v18 stays for a binary of the previous version
    /// during a deploy: a call of the new one without bounds, the destination clamp included.
    @Test func theConditionalFunctionOfV18StillAnswers() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "agent", "merchant")
        _ = try await b.post("fund", [.debit(b.id("@world"), 1_000), .credit(b.id("agent"), 1_000)])
        let (id, agent, merchant) = (b.tid("old").rawValue, b.id("agent").rawValue, b.id("merchant").rawValue)
        let query: PostgresQuery = """
            select status, code, amount::text from settle.post_transfers(
                array[\(id)]::text[], array[0]::int2[], array['']::text[], array[-1]::numeric[], array[0]::int8[],
                array['epoch']::timestamptz[], array[false], array['']::text[], array['']::text[], array['']::text[],
                array[repeat('ab', 32)], array[1, 1]::int4[], array[\(agent), \(merchant)]::text[], array[true, false],
                array[250, 250]::numeric[], false, array['']::text[], array[false],
                array[true], array[1]::int4[], array[\(agent)]::text[], array[1]::int8[], array['']::text[])
            """
        var rows: [(Int16, String?, String?)] = []
        for try await row in try await b.ledger.client.query(query, logger: TestDatabase.logger).decode((Int16, String?, String?).self) {
            rows.append(row)
        }
        #expect(rows.count == 1 && rows.first?.0 == 0 && rows.first?.1 == nil && rows.first?.2 == "250", "\(rows)")
        #expect(try await b.balance("agent").posted == SignedAmount(750))
    }
}
