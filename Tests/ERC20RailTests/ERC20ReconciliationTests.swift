import DevChain
import ERC20Rail
import EVM
import Foundation
import Ledger
import RailKit
import Reconciliation
import SettleTesting
import Testing

/// The ERC-20 rail's side of the drift check: what a watched address held before the rail started
/// is booked once as its opening balance, the chain's balance at any past cut-off is read from the
/// head's `balanceOf` and the logs since (no archive state), and money that leaves the address is
/// booked out of its wallet account as it arrives, so the two agree both ways. The time limit is a
/// hang guard, not a bound: beside a full suite on two cores the chain walk took over 2 minutes.
@Suite("ERC-20 reconciliation", .timeLimit(.minutes(6)))
struct ERC20ReconciliationTests {
    /// 2026-06-01T12:00:00Z: the chain's genesis, so that the whole test falls inside one day.
    static let noon: UInt64 = 1_780_315_200
    /// Not ERC-20 rail tests' 31337: the token's asset is unique per network in the shared database.
    static let chainID: UInt64 = 31_401

    @Test func walletAccountsAgreeWithBalanceOfBothWays() async throws {
        // Two blocks of state history: a read of an older block's state would fail.
        let configuration = DevChainConfiguration(
            port: 0, chainID: Self.chainID, blockTime: .zero, automine: true, genesisTimestamp: Self.noon, stateHistory: 2)
        try await ERC20RailTests.withChain(configuration) { chain, url in
            _ = await chain.increaseTime(by: Int64(Self.noon) - Int64(Date().timeIntervalSince1970))
            let ledger = try await TestDatabase.ledger()
            let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
            // Funded at genesis: the rail must book that as the opening balance.
            let merchantKey = TestAccounts.privateKeys[7]
            let merchant = merchantKey.address
            let initial = TokenConfiguration.usdc.initialBalance
            let rail = try ERC20RailTests.rail(url: url, merchant: merchant, tag: tag, chainID: Self.chainID)
            let booker = RailBooker(ledger: ledger)
            try await booker.install(rail.descriptor)
            let wallet = "evm:usdc-\(tag):wallet:\(merchant.lowercased)"

            let first = try await ERC20RailTests.pay(chain, to: merchant, 1_000, chainID: Self.chainID)
            let firstBlock = try #require(await chain.receipt(first)).blockNumber
            let firstTime = try #require(await chain.block(number: firstBlock)).timestamp
            try await ERC20RailTests.pay(chain, to: merchant, 2_000, chainID: Self.chainID)
            _ = try await chain.mine(blocks: 6)
            let report = try await booker.sync(rail)
            #expect(report.rejected.isEmpty, "\(report)")
            // Seen already final: the payer's gas of both transactions is booked all the same.
            let gas = try await ERC20RailTests.balance(ledger, "evm:eth-\(tag):gas")
            #expect(gas.version == 2, "\(gas)")
            // Opening + two payments, all posted.
            #expect(try await ERC20RailTests.balance(ledger, wallet).posted.description == (initial + 3_000).description)
            let opening = try await ERC20RailTests.balance(ledger, "evm:usdc-\(tag):opening:\(merchant.lowercased)")
            #expect(opening.creditsPosted.description == initial.description)
            #expect(try await booker.sync(rail).created == 0)

            // The chain's balance at a past time, long after that block's state was dropped.
            let asset = try AssetID("usdc-\(tag)")
            let before = try await rail.balances(at: Date(timeIntervalSince1970: TimeInterval(firstTime)))
            #expect(before.map(\.amount.description) == [initial.description] && before.first?.asset == asset)
            #expect(before.first?.bindings == ["address": merchant.lowercased])
            let between = try await rail.balances(at: Date(timeIntervalSince1970: TimeInterval(firstTime + 1)))
            #expect(between.map(\.amount.description) == [(initial + 1_000).description])

            let day = try ReconciliationDay("2026-06-01")
            let reconciler = Reconciler(ledger: ledger)
            let store = ReconciliationStore(ledger: ledger)
            let asOf = day.cutoff.addingTimeInterval(2 * 86_400)
            let agreed = try await reconciler.run(rail: rail, day: day, asOf: asOf)
            #expect(agreed.counts["drift_checks"] == 1, "\(agreed.counts)")  // one token at one address
            #expect(try await store.breaks(run: agreed.id).filter { $0.code == .drift }.isEmpty)

            // The merchant moves 500 out: booked out of its wallet account (held, then posted once
            // final), matched against the chain's outbound record; still no drift.
            let out = try await ERC20RailTests.pay(chain, from: merchantKey, to: ERC20RailTests.payer.address, 500, chainID: Self.chainID)
            let sending = try await booker.sync(rail)
            #expect(sending.rejected.isEmpty, "\(sending)")
            let outgoing = "evm:usdc-\(tag):outgoing:\(merchant.lowercased)"
            #expect(try await ERC20RailTests.balance(ledger, outgoing).debitsPending.description == "500", "held until final")
            _ = try await chain.mine(blocks: 6)
            _ = try await booker.sync(rail)
            #expect(try await ERC20RailTests.balance(ledger, outgoing).debitsPosted.description == "500")
            #expect(try await ERC20RailTests.balance(ledger, wallet).posted.description == (initial + 2_500).description)
            let rerun = try await reconciler.run(rail: rail, day: day, asOf: asOf)
            // Only the x402 clearing account, which no payment of this test debits, is open (timing).
            let breaks = try await store.breaks(run: rerun.id).filter {
                !($0.code == .timing && $0.reference?.contains(":incoming:") == true)
            }
            #expect(breaks.isEmpty, "\(breaks)")
            #expect(rerun.counts["matched"] == 3, "\(rerun.counts)")  // two arrivals and the transfer out

            // A transfer out whose block is reorganized away before it is final is voided.
            let outBlock = try #require(await chain.receipt(out)).blockNumber
            #expect(outBlock > firstBlock)
            let late = try await ERC20RailTests.pay(chain, from: merchantKey, to: ERC20RailTests.payer.address, 200, chainID: Self.chainID)
            let lateBlock = try #require(await chain.receipt(late)).blockNumber
            _ = try await booker.sync(rail)
            #expect(try await ERC20RailTests.balance(ledger, outgoing).debitsPending.description == "200")
            _ = try await chain.reorg(fromBlock: lateBlock, requeue: false)
            _ = try await chain.mine(blocks: 1)
            _ = try await booker.sync(rail)
            let after = try await ERC20RailTests.balance(ledger, outgoing)
            #expect(after.debitsPending.description == "0" && after.debitsPosted.description == "500", "voided: \(after)")
            #expect(try await ERC20RailTests.balance(ledger, wallet).posted.description == (initial + 2_500).description)
        }
    }
    /// A rail configured to start at a block the chain has not reached yet gets its openings when
    /// the chain gets there (it used to get none, ever), and a cursor written before openings
    /// existed gets them on its next page.
    @Test func openingsWaitForTheStartBlockAndReachCursorsWrittenBeforeThem() async throws {
        try await ERC20RailTests.withChain { chain, url in
            let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
            let merchant = TestAccounts.privateKeys[7].address
            let start = await chain.blockNumber + 3
            let rail = try ERC20RailTests.rail(url: url, merchant: merchant, tag: tag, startBlock: start)
            func openings(_ page: RailPage) -> [RailEvent] { page.events.filter { $0.transition == "opening" } }

            let early = try await rail.fetchNext(cursor: nil, pageSize: 100)
            #expect(openings(early).isEmpty)
            _ = try await chain.mine(blocks: 2)  // the head is now the block before the start block
            let reached = try await rail.fetchNext(cursor: early.nextCursor, pageSize: 100)
            #expect(openings(reached).map(\.amounts["amount"]?.description) == [TokenConfiguration.usdc.initialBalance.description])
            #expect(openings(reached).first?.reference == "eip155:31337/opening/\(ERC20RailTests.usdc.lowercased)/\(merchant.lowercased)")
            let after = try await rail.fetchNext(cursor: reached.nextCursor, pageSize: 100)
            #expect(openings(after).isEmpty)

            // A cursor from before openings existed has no `opened`: the next page produces them.
            var old = try #require(
                try JSONSerialization.jsonObject(with: Data((after.nextCursor ?? "").utf8)) as? [String: Any])
            #expect(old.removeValue(forKey: "opened") as? Bool == true)
            let oldCursor = String(decoding: try JSONSerialization.data(withJSONObject: old), as: UTF8.self)
            #expect(openings(try await rail.fetchNext(cursor: oldCursor, pageSize: 100)).count == 1)
        }
    }
}
