import DevChain
import EVM
import Foundation
import Ledger
import RailKit
import Reconciliation
import SettleTesting
import TempoRail
import Testing

/// The Tempo rail's side of the drift check (decisions 0032 and 0035): the merchant's balance before
/// the rail started is booked once as its opening, its balance at any past cut-off is read from the
/// head's `balanceOf` and the logs since (the fee token's `Transfer`s to the FeeManager included),
/// and money that leaves the address behind the ledger's back is a `drift` break naming the wallet
/// account.
@Suite("Tempo reconciliation", .timeLimit(.minutes(2)))
struct TempoReconciliationTests {
    typealias T = TempoRailTests
    /// 2026-06-01T12:00:00Z: the chain's genesis, so that the whole test falls inside one day.
    static let noon: UInt64 = 1_780_315_200
    /// Not the Tempo rail tests' 42431: the token's asset is unique per network in the shared database.
    static let chainID: UInt64 = 42_501

    static func transfer(to: EVM.Address, _ amount: EVM.UInt256) -> [UInt8] {
        ABI.encodeCall("transfer(address,uint256)", [.address(to), .uint(amount)])
    }

    @Test func walletAccountAgreesWithBalanceOfThroughFeesUntilTokensLeaveBehindTheLedgersBack() async throws {
        // Two blocks of state history: a read of an older block's state would fail.
        try await T.withChain({
            $0.chainID = Self.chainID
            $0.genesisTimestamp = Self.noon
            $0.stateHistory = 2
        }) { chain, url in
            _ = await chain.increaseTime(by: Int64(Self.noon) - Int64(Date().timeIntervalSince1970))
            let (ledger, tag, rail, booker) = try await T.installed(url: url, chainID: Self.chainID)
            let merchant = T.merchant.address
            let wallet = "tempo:pathusd-\(tag):wallet:\(merchant.lowercased)"
            // Funded at genesis: the rail must book that as the opening balance.
            let initial = EVM.UInt256(1_000_000_000_000)

            // Each transaction in a second of its own (Tempo's blocks may share one), with the
            // merchant's balance once its block was applied.
            let mined = { (signed: SignedTempoTransaction) async throws -> (receipt: DevChainReceipt, time: UInt64, balance: EVM.UInt256) in
                _ = await chain.increaseTime(by: 1)
                let receipt = try #require(await chain.receipt(try await chain.sendRawTransaction(signed.rawBytes)))
                let block = try #require(await chain.block(number: receipt.blockNumber))
                return (receipt, block.timestamp, try await chain.tokenBalance(token: T.pathUSD, owner: merchant))
            }
            let transaction = { (amount: EVM.UInt256, sponsored: Bool) in
                T.transaction([(T.pathUSD, Self.transfer(to: merchant, amount))], sponsored: sponsored, chainID: Self.chainID)
            }
            // A charge whose fee the payer pays, one the merchant sponsors, and one it sponsors
            // that reverts: nothing arrives, yet the fee is paid.
            let paid = try await mined(transaction(1_000, false).signed(with: T.payer))
            let sponsored = try await mined(
                try transaction(2_000, true).signed(with: T.payer).cosigned(by: T.merchant, feeToken: T.pathUSD))
            let reverted = try await mined(try transaction(.max, true).signed(with: T.payer).cosigned(by: T.merchant, feeToken: T.pathUSD))
            #expect(paid.receipt.succeeded && sponsored.receipt.succeeded && sponsored.receipt.feePayer == merchant)
            #expect(!reverted.receipt.succeeded && reverted.receipt.feePayer == merchant)
            #expect(sponsored.balance < initial + 3_000 && reverted.balance < sponsored.balance)
            let after = [paid, sponsored, reverted]

            let report = try await booker.sync(rail)
            #expect(report.rejected.isEmpty, "\(report)")
            // Opening, two charges, two fees: the wallet account is what the chain holds.
            #expect(try await ledger.balance(of: AccountID(wallet)).posted.description == reverted.balance.description)
            let opening = try await ledger.balance(of: AccountID("tempo:pathusd-\(tag):opening:\(merchant.lowercased)"))
            #expect(opening.creditsPosted.description == initial.description)
            #expect(try await booker.sync(rail).created == 0)

            // The chain's balance at a past time, long after that block's state was dropped.
            let asset = try AssetID("pathusd-\(tag)")
            let before = try await rail.balances(at: Date(timeIntervalSince1970: TimeInterval(after[0].time)))
            #expect(before.map(\.amount.description) == [initial.description] && before.first?.asset == asset)
            #expect(before.first?.bindings == ["address": merchant.lowercased])
            for (_, time, balance) in after {
                let then = try await rail.balances(at: Date(timeIntervalSince1970: TimeInterval(time + 1)))
                #expect(then.map(\.amount.description) == [balance.description], "after the block at \(time)")
            }

            // The day's run, two days later (past every SLA): its drift checks and drift breaks.
            let reconcile = { () async throws -> (checks: Int64?, drift: [ReconciliationBreak]) in
                let day = try ReconciliationDay("2026-06-01")
                let run = try await Reconciler(ledger: ledger).run(rail: rail, day: day, asOf: day.cutoff.addingTimeInterval(2 * 86_400))
                return (
                    run.counts["drift_checks"],
                    try await ReconciliationStore(ledger: ledger).breaks(run: run.id).filter { $0.code == .drift }
                )
            }
            let agreed = try await reconcile()
            #expect(agreed.checks == 1 && agreed.drift.isEmpty, "\(agreed)")  // one token at one address, in agreement

            // The merchant sends 500 away: the rail books its fee, not the 500 (it books what
            // arrives), so the wallet account now says more than the chain holds.
            let away = T.transaction([(T.pathUSD, Self.transfer(to: T.payer.address, 500))], chainID: Self.chainID)
            #expect(try await mined(away.signed(with: T.merchant)).receipt.succeeded)
            _ = try await booker.sync(rail)
            let left = try await chain.tokenBalance(token: T.pathUSD, owner: merchant)
            let drift = try await reconcile().drift
            #expect(drift.map(\.reference) == [wallet], "\(drift)")
            #expect(drift.first?.railAmount == left.description)
            #expect(drift.first?.ledgerAmount == (left + 500).description)
        }
    }
}
