import Foundation
import Ledger
import Testing

@Suite("Point-in-time balances and history")
struct BalanceHistoryTests {
    let day: TimeInterval = 86_400

    @Test func asOfEffectiveTimeWithBackDatedTransfers() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "a")
        let t0 = Date(timeIntervalSince1970: 1_790_000_000)
        func post(_ id: String, _ amount: UInt256, at: Date) async throws {
            let r = try await b.ledger.post(
                NewTransfer(id: b.tid(id), .post([.debit(b.id("@world"), amount), .credit(b.id("a"), amount)]), effectiveAt: at))
            #expect(r.isCreated)
        }
        try await post("d1", 10, at: t0)
        try await post("d3", 30, at: t0 + 2 * day)
        try await b.ledger.takeSnapshots(at: t0 + 2.5 * day)
        // Back-dated after the snapshot: effective on day 2, recorded last.
        try await post("d2", 20, at: t0 + day)
        try await post("d4", 40, at: t0 + 3 * day)

        func at(_ d: Date) async throws -> UInt256 { try await b.ledger.balance(of: b.id("a"), asOf: d).creditsPosted }
        #expect(try await at(t0 - 1) == 0)
        #expect(try await at(t0) == 10)
        #expect(try await at(t0 + day) == 30)
        #expect(try await at(t0 + 2 * day) == 60)
        #expect(try await at(t0 + 2.5 * day) == 60)
        #expect(try await at(t0 + 3 * day) == 100)
        #expect(try await b.balance("a").creditsPosted == 100)
        // The history keeps recording order, untouched by the back-dated transfer.
        let page = try await b.ledger.entries(of: b.id("a"), limit: 10)
        #expect(page.items.map(\.version) == [4, 3, 2, 1])
        #expect(page.items.map(\.creditsPosted) == [100, 60, 40, 10])
        // Re-taking a snapshot picks up the late entry.
        try await b.ledger.takeSnapshots(at: t0 + 2.5 * day)
        #expect(try await at(t0 + 2.5 * day) == 60)
        #expect(try await at(t0 + 3 * day) == 100)
    }

    @Test func keysetPagination() async throws {
        let b = try await Books.make()
        try await b.accounts("@world", "a")
        let batch = (1...25).map {
            NewTransfer(id: b.tid("p\($0)"), .post([.debit(b.id("@world"), UInt256(UInt64($0))), .credit(b.id("a"), UInt256(UInt64($0)))]))
        }
        let notCreated = try await b.ledger.post(batch).filter { !$0.isCreated }
        #expect(notCreated.isEmpty, "\(notCreated)")
        var versions: [Int64] = []
        var cursor: String?
        repeat {
            let page = try await b.ledger.entries(of: b.id("a"), limit: 10, cursor: cursor)
            versions += page.items.map(\.version)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(versions == Array((1...25).reversed()))
        await #expect(throws: LedgerError.self) { try await b.ledger.entries(of: b.id("a"), cursor: "garbage") }
        await #expect(throws: LedgerError.self) { try await b.ledger.entries(of: b.id("nobody")) }
        await #expect(throws: LedgerError.self) { try await b.ledger.balance(of: b.id("nobody")) }
    }
}

@Suite("Assets and accounts")
struct AccountTests {
    @Test func createIsIdempotent() async throws {
        let b = try await Books.make()
        let acct = Account(
            id: b.id("x"), asset: b.asset, code: "wallet", normalSide: .credit, limit: .debitsMustNotExceedCredits,
            externalID: "\(b.prefix)-ext", metadata: ["tier": .string("gold")])
        #expect(try await b.ledger.createAccounts([acct]) == [.created])
        #expect(try await b.ledger.createAccounts([acct]) == [.exists])
        var changed = acct
        changed.limit = .none
        guard case .rejected(let e) = try await b.ledger.createAccounts([changed])[0] else { Issue.record("accepted"); return }
        #expect(e.code == .existsWithDifferentFields)
        let read = try #require(try await b.ledger.account(b.id("x")))
        #expect(read.metadata == ["tier": .string("gold")] && read.limit == .debitsMustNotExceedCredits && read.createdAt != nil)
        let sameExternal = Account(id: b.id("y"), asset: b.asset, normalSide: .credit, externalID: "\(b.prefix)-ext")
        let unknownAsset = Account(id: b.id("z"), asset: "nope-\(b.prefix)", normalSide: .credit)
        let results = try await b.ledger.createAccounts([sameExternal, unknownAsset])
        let codes: [LedgerError.Code?] = results.map { if case .rejected(let e) = $0 { e.code } else { nil } }
        #expect(codes == [.externalIDExists, .assetNotFound])
        let twins = [
            Account(id: b.id("t1"), asset: b.asset, normalSide: .credit, externalID: "\(b.prefix)-twin"),
            Account(id: b.id("t2"), asset: b.asset, normalSide: .credit, externalID: "\(b.prefix)-twin"),
        ]
        let twinResults = try await b.ledger.createAccounts(twins)
        #expect(twinResults[0] == .created)
        guard case .rejected(let twinError) = twinResults[1] else { Issue.record("accepted a second account with one external id"); return }
        #expect(twinError.code == .externalIDExists)
    }

    @Test func assetsAreValidated() async throws {
        let b = try await Books.make()
        let bad = [
            Asset(id: "\(b.prefix)-a", code: "", scale: 2),
            Asset(id: "\(b.prefix)-b", code: "USD", scale: 78),
            Asset(id: "\(b.prefix)-c", code: "USDC", scale: 6, network: "base"),
            Asset(id: "\(b.prefix)-d", code: "USDC", scale: 6, token: "0xabc"),
        ]
        for r in try await b.ledger.createAssets(bad) {
            guard case .rejected(let e) = r else { Issue.record("accepted \(r)"); continue }
            #expect(e.code == .invalidAsset)
        }
        let usdc = Asset(id: "\(b.prefix)-usdc", code: "USDC", scale: 6, rail: "erc20", network: "eip155:8453", token: "0x\(b.prefix)")
        #expect(try await b.ledger.createAssets([usdc, usdc]) == [.created, .exists])
        var sameToken = usdc
        sameToken.id = "\(b.prefix)-usdc2"
        guard case .rejected(let e) = try await b.ledger.createAssets([sameToken])[0] else { Issue.record("accepted"); return }
        #expect(e.code == .existsWithDifferentFields)
    }
}
