import Foundation
import PostgresNIO
import SettleTesting
import Testing

@testable import Ledger

/// The posting function's fast path (v7) may only ever write what the checked function would have
/// written. The same random batches go to two identical charts of accounts, one through
/// `settle.post_transfers`, one through `settle.post_transfers_checked` alone: every result, every
/// entry and every balance must be the same.
@Suite("Posting fast path")
struct FastPathTests {
    /// One chart of accounts; `name` maps a universe-free name to its ids.
    struct Universe {
        let books: Books
        let other: AssetID
        func account(_ name: String) -> AccountID { books.id(name) }
        func transfer(_ name: String) -> TransferID { books.tid(name) }

        static func make() async throws -> Universe {
            let books = try await Books.make()
            try await books.accounts("@world", "a!", "b!", "c!", "d", "e", "shut", "@sink", "vault")
            let ledger = books.ledger
            let other = try AssetID("\(books.prefix)-eur")
            _ = try await ledger.createAssets([Asset(id: other, code: "EUR", scale: 2)])
            _ = try await ledger.createAccounts([
                Account(id: books.id("f"), asset: books.asset, normalSide: .debit, limit: .creditsMustNotExceedDebits),
                Account(id: books.id("x"), asset: other, normalSide: .credit),
            ])
            try await ledger.closeAccount(books.id("shut"))
            return Universe(books: books, other: other)
        }
    }

    /// A transfer in universe-free terms.
    enum Step {
        case post(id: String, [(Posting.Direction, String, UInt256)], rail: String?, metadata: Bool, effective: Bool)
        case hold(id: String, [(Posting.Direction, String, UInt256)], timeout: Int64?)
        case postHold(id: String, hold: String, amount: UInt256?)
        case voidHold(id: String, hold: String)
        case reverse(id: String, of: String)

        func transfer(in u: Universe) -> NewTransfer {
            func postings(_ legs: [(Posting.Direction, String, UInt256)]) -> [Posting] {
                legs.map { Posting($0.0, u.account($0.1), $0.2) }
            }
            switch self {
            case .post(let id, let legs, let rail, let metadata, let effective):
                return NewTransfer(
                    id: u.transfer(id), .post(postings(legs)),
                    effectiveAt: effective ? Date(timeIntervalSince1970: 1_600_000_000) : nil,
                    metadata: metadata ? ["order": .string(id)] : [:],
                    railReference: rail.map { .init(rail: "test", reference: "\(u.books.prefix):\($0)") })
            case .hold(let id, let legs, let timeout):
                return NewTransfer(id: u.transfer(id), .hold(postings(legs), timeout: timeout))
            case .postHold(let id, let hold, let amount):
                return NewTransfer(id: u.transfer(id), .postHold(u.transfer(hold), amount: amount))
            case .voidHold(let id, let hold):
                return NewTransfer(id: u.transfer(id), .voidHold(u.transfer(hold)))
            case .reverse(let id, let of):
                return NewTransfer(id: u.transfer(id), .reverse(u.transfer(of)))
            }
        }
    }

    /// Random batches: half of them plain (posts and holds with fresh ids, which the fast path
    /// takes unless a limit or a counter breaks), the others mixing every kind of transfer and bad
    /// input: retries, duplicates in the batch, rail references, resolutions of holds, reversals,
    /// unknown, closed and foreign-asset accounts, amounts that overflow.
    static func batches(seed: UInt64, count: Int) -> [(steps: [Step], atomic: Bool)] {
        var rng = SplitMix64(state: seed)
        let names = ["@world", "a", "b", "c", "d", "e", "f"]
        var posted: [Step] = []
        var holds: [String] = []
        var counter = 0
        var railCounter = 0
        var batches: [(steps: [Step], atomic: Bool)] = []
        func pick(_ k: Int = names.count) -> String { names[Int.random(in: 0..<k, using: &rng)] }
        for _ in 0..<count {
            let plain = Bool.random(using: &rng)
            var steps: [Step] = []
            for _ in 0..<Int.random(in: 1...48, using: &rng) {
                counter += 1
                let id = "s\(counter)"
                let roll = plain ? Int.random(in: 0..<40, using: &rng) : Int.random(in: 0..<100, using: &rng)
                var from = pick(), to = pick()
                if to == from { to = names[(names.firstIndex(of: from)! + 1) % names.count] }
                let amount = UInt256(UInt64.random(in: 1...400, using: &rng))
                switch roll {
                case 0..<25:
                    var legs = [(Posting.Direction.debit, from, amount), (.credit, to, amount)]
                    if roll < 4 {
                        // Three legs: a fee split.
                        let third = names.first { $0 != from && $0 != to }!
                        legs = [(.debit, from, amount.adding(2)!), (.credit, to, amount), (.credit, third, UInt256(2))]
                    }
                    railCounter += 1
                    let step = Step.post(
                        id: id, legs, rail: roll % 3 == 0 ? "r\(railCounter)" : nil, metadata: roll % 2 == 0, effective: roll % 5 == 0)
                    steps.append(step)
                    posted.append(step)
                case 25..<40:
                    steps.append(.hold(id: id, [(.debit, from, amount), (.credit, to, amount)], timeout: roll % 2 == 0 ? 3_600 : nil))
                    holds.append(id)
                case 40..<50 where !holds.isEmpty:
                    let hold = holds[Int.random(in: 0..<holds.count, using: &rng)]
                    let partial = Int.random(in: 0..<3, using: &rng) == 0
                    steps.append(.postHold(id: id, hold: hold, amount: partial ? UInt256(UInt64.random(in: 1...500, using: &rng)) : nil))
                case 50..<58 where !holds.isEmpty:
                    steps.append(.voidHold(id: id, hold: holds[Int.random(in: 0..<holds.count, using: &rng)]))
                case 58..<65 where !posted.isEmpty:
                    if case .post(let of, _, _, _, _) = posted[Int.random(in: 0..<posted.count, using: &rng)] {
                        steps.append(.reverse(id: id, of: of))
                    }
                case 65..<72 where !posted.isEmpty:
                    // A retry of an earlier transfer, same content (exists) or not.
                    let earlier = posted[Int.random(in: 0..<posted.count, using: &rng)]
                    if Bool.random(using: &rng) {
                        steps.append(earlier)
                    } else if case .post(let eid, let legs, let rail, let metadata, let effective) = earlier {
                        steps.append(.post(id: eid, legs, rail: rail, metadata: !metadata, effective: effective))
                    }
                case 72..<76 where !steps.isEmpty:
                    steps.append(steps[Int.random(in: 0..<steps.count, using: &rng)])
                case 76..<80 where railCounter > 0:
                    // A rail reference already used.
                    steps.append(
                        .post(
                            id: id, [(.debit, from, amount), (.credit, to, amount)],
                            rail: "r\(Int.random(in: 1...railCounter, using: &rng))",
                            metadata: false, effective: false))
                case 80..<84:
                    steps.append(
                        .post(id: id, [(.debit, from, amount), (.credit, "nobody", amount)], rail: nil, metadata: false, effective: false))
                case 84..<87:
                    steps.append(
                        .post(id: id, [(.debit, from, amount), (.credit, "shut", amount)], rail: nil, metadata: false, effective: false))
                case 87..<90:
                    steps.append(
                        .post(id: id, [(.debit, from, amount), (.credit, "x", amount)], rail: nil, metadata: false, effective: false))
                case 90..<93:
                    steps.append(
                        .post(id: id, [(.debit, from, amount), (.credit, from, amount)], rail: nil, metadata: false, effective: false))
                case 93..<96:
                    steps.append(
                        .post(id: id, [(.debit, "@sink", .max), (.credit, "vault", .max)], rail: nil, metadata: false, effective: false))
                default:
                    steps.append(
                        .post(id: id, [(.debit, "@world", amount), (.credit, to, amount)], rail: nil, metadata: false, effective: false))
                }
            }
            batches.append((steps, !plain && Int.random(in: 0..<6, using: &rng) == 0))
        }
        return batches
    }

    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func fastPathWritesWhatTheCheckedFunctionWrites(seed: UInt64) async throws {
        let fast = try await Universe.make()
        let checked = try await Universe.make()
        let client = fast.books.ledger.client
        for (k, batch) in Self.batches(seed: seed, count: 40).enumerated() {
            var answers: [[String]] = []
            for (universe, checkedOnly) in [(fast, false), (checked, true)] {
                let transfers = batch.steps.map { $0.transfer(in: universe) }
                // Input the Swift side refuses never reaches the database; both universes drop it alike.
                let sent = transfers.filter { (try? $0.validate()) != nil }
                let call = Self.call(
                    BatchColumns(sent, atomic: batch.atomic), function: checkedOnly ? "post_transfers_checked" : "post_transfers")
                var rows: [PostgresLedger.Row] = []
                do {
                    for try await row in try await client.query(call).decode(PostingCall.Row.self) { rows.append(PostgresLedger.row(row)) }
                } catch {
                    // A whole-batch failure (a balance past 2^256-1 after the checks) must happen on both sides.
                    answers.append(["failed: \(String(reflecting: error).contains("22003") ? "overflow" : "\(error)")"])
                    continue
                }
                answers.append(
                    rows.sorted { $0.index < $1.index }.map {
                        switch $0.result {
                        case .created: "created"
                        case .exists: "exists"
                        case .rejected(let error): error.code.rawValue
                        }
                    })
            }
            #expect(answers[0] == answers[1], "seed \(seed), batch \(k)")
        }
        #expect(try await Self.books(of: fast, client) == Self.books(of: checked, client))
        let report = try await fast.books.ledger.verify()
        #expect(report.passed, "\(report.checks.filter { !$0.passed })")
    }

    /// A call of `settle.<function>` with the batch, outside the ledger's prepared statement.
    static func call(_ b: BatchColumns, function: String = "post_transfers") -> PostgresQuery {
        """
        select idx, status, code, seq, recorded_at from settle.\(unescaped: function)(
            \(b.ids), \(b.kinds), \(b.parents), \(b.amounts)::numeric[], \(b.timeouts), \(b.effective),
            \(b.effectiveSet), \(b.metadata), \(b.rails), \(b.railRefs), \(b.hashes),
            \(b.postingTransfer), \(b.postingAccount), \(b.postingDebit), \(b.postingAmount)::numeric[],
            \(b.atomic))
        """
    }

    /// Every entry of a universe, in universe-free terms, in account and version order.
    static func books(of u: Universe, _ client: PostgresClient) async throws -> [String] {
        let prefix = u.books.prefix
        let rows = try await client.query(
            """
            select substr(a.id, length(\(prefix)) + 2), e.account_version, e.is_debit, e.is_pending, e.amount::text,
                   e.debits_posted::text, e.credits_posted::text, e.debits_pending::text, e.credits_pending::text,
                   substr(t.id, length(\(prefix)) + 2), t.kind,
                   coalesce(substr(p.id, length(\(prefix)) + 2), ''), t.expires_at is not null,
                   case when t.effective_at < '2021-01-01' then t.effective_at::text else '' end,
                   coalesce(t.metadata::text, ''), coalesce(substr(t.rail_ref, length(\(prefix)) + 2), '')
              from settle.entries e
              join settle.accounts a on a.num = e.account_num
              join settle.transfers t on t.seq = e.transfer_seq
              left join settle.transfers p on p.seq = t.parent_seq
             where a.id like \(prefix) || ':%'
             order by a.id, e.account_version
            """)
        var lines: [String] = []
        for try await row in rows.decode(
            (String, Int64, Bool, Bool, String, String, String, String, String, String, Int16, String, Bool, String, String, String).self)
        {
            lines.append("\(row)")
        }
        return lines
    }

    @Test func plainBatchesTakeTheFastPathAndOthersFallBack() async throws {
        let u = try await Universe.make()
        let ledger = u.books.ledger
        _ = try await ledger.post(
            NewTransfer(id: u.transfer("fund"), .post([.debit(u.account("@world"), 1_000), .credit(u.account("a"), 1_000)])))
        let plain = [
            NewTransfer(id: u.transfer("p1"), .post([.debit(u.account("a"), 10), .credit(u.account("d"), 10)])),
            NewTransfer(id: u.transfer("p2"), .hold([.debit(u.account("a"), 5), .credit(u.account("d"), 5)], timeout: 60)),
        ]
        let overdraft = [NewTransfer(id: u.transfer("p3"), .post([.debit(u.account("a"), 5_000), .credit(u.account("d"), 5_000)]))]
        // The checked function creates its staging tables on a connection's first call; on a
        // connection without them, their absence after a call shows it was not called.
        let paths: [Bool] = try await ledger.client.withConnection { conn in
            var stagedAfter: [Bool] = []
            for batch in [plain, overdraft] {
                try await conn.query("discard temp", logger: TestDatabase.logger)
                let rows = try await conn.query(Self.call(BatchColumns(batch, atomic: false)), logger: TestDatabase.logger)
                    .decode(PostingCall.Row.self).reduce(0) { n, _ in n + 1 }
                #expect(rows == batch.count)
                for try await staged in try await conn.query(
                    "select to_regclass('pg_temp.pt_run') is not null", logger: TestDatabase.logger
                )
                .decode(Bool.self) {
                    stagedAfter.append(staged)
                }
            }
            return stagedAfter
        }
        #expect(paths == [false, true])
        #expect(try await u.books.balance("a").creditsPosted == 1_000)
        #expect(try await u.books.balance("a").debitsPosted == 10)
        #expect(try await u.books.balance("a").debitsPending == 5)
        #expect(try await ledger.post(overdraft[0]).code == .exceedsCredits)
    }
}
