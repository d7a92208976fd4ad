import Foundation
import Ledger
import RailKit
import SettleTesting
import Synchronization
import Testing

/// A rail whose events are a list in memory; the cursor is the index of the next event. It can be
/// told to fail a pull, as a rail that goes away mid-sync does.
final class ListRail: Rail {
    let descriptor: RailDescriptor
    private let state: Mutex<(events: [RailEvent], failOnPull: Int?, pulls: Int)>

    init(id: String, asset: AssetID, events: [RailEvent]) {
        descriptor = RailDescriptor(
            id: id, kind: "list", summary: "test rail", assets: [Asset(id: asset, code: "USDC", scale: 6)], capabilities: [.pull],
            fundFlow: chainFlow)
        state = Mutex((events, nil, 0))
    }

    func append(_ events: [RailEvent]) { state.withLock { $0.events += events } }
    func failOnPull(_ n: Int?) { state.withLock { $0.failOnPull = n } }

    func fetchNext(cursor: String?, pageSize: Int) async throws(RailError) -> RailPage {
        try state.withLock { state throws(RailError) in
            state.pulls += 1
            if state.pulls == state.failOnPull { throw RailError(.crashed, "the rail went away") }
            let start = cursor.flatMap(Int.init) ?? 0
            let end = min(state.events.count, start + pageSize)
            return RailPage(events: Array(state.events[start..<end]), nextCursor: String(end), hasMore: end < state.events.count)
        }
    }
}

@Suite("Rail booker")
struct RailBookerTests {
    static func rail(events: (String, AssetID) -> [RailEvent]) -> ListRail {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let asset = AssetID(stringLiteral: "usdc-\(tag)")
        return ListRail(id: "list-\(tag)", asset: asset, events: events(tag, asset))
    }

    static func event(_ transition: String, _ reference: String, _ asset: AssetID, merchant: String, amount: UInt64 = 100) -> RailEvent {
        RailEvent(
            transition: transition, reference: reference, asset: asset, amounts: ["amount": UInt256(amount), "gas": 3],
            bindings: ["merchant": merchant], occurredAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test func syncBooksEachEventOnceAndStoresTheCursorAfterBooking() async throws {
        let ledger = try await TestDatabase.ledger()
        let rail = Self.rail { tag, asset in
            (0..<25).flatMap { k in
                [
                    Self.event("seen", "tx\(k)", asset, merchant: "\(tag):merchant"),
                    Self.event("final", "tx\(k)", asset, merchant: "\(tag):merchant"),
                ]
            }
        }
        let booker = RailBooker(ledger: ledger)
        try await booker.install(rail.descriptor)
        let merchant = try AccountID("\(rail.descriptor.id.dropFirst(5)):merchant")

        // The rail fails on its third pull: two pages are booked and their cursor stored.
        rail.failOnPull(3)
        await #expect(throws: RailError.self) { try await booker.sync(rail, pageSize: 10) }
        #expect(try await booker.cursor(of: rail.descriptor.id) == "20")
        rail.failOnPull(nil)
        let report = try await booker.sync(rail, pageSize: 10)
        #expect(report.created == 30 && report.events == 30 && report.rejected.isEmpty)
        #expect(try await ledger.balance(of: merchant).posted.description == "2500")

        // Nothing new: nothing booked. New events: only they are booked.
        #expect(try await booker.sync(rail, pageSize: 10).created == 0)
        rail.append([Self.event("seen", "tx-late", rail.descriptor.assets[0].id, merchant: merchant.rawValue)])
        let later = try await booker.sync(rail, pageSize: 10)
        #expect(later.created == 1 && later.events == 1)
        #expect(try await ledger.balance(of: merchant).creditsPending.description == "100")
    }

    @Test func anEventBeforeItsHoldWaitsAndIsBookedLater() async throws {
        let ledger = try await TestDatabase.ledger()
        let rail = Self.rail { tag, asset in
            [Self.event("final", "tx1", asset, merchant: "\(tag):merchant"), Self.event("seen", "tx1", asset, merchant: "\(tag):merchant")]
        }
        let booker = RailBooker(ledger: ledger)
        try await booker.install(rail.descriptor)
        let first = try await booker.sync(rail, pageSize: 1)
        #expect(first.outOfOrder == "final:tx1")
        #expect(try await booker.cursor(of: rail.descriptor.id) == nil)

        // Delivered as webhooks instead: the late one is refused as retryable, then taken.
        let descriptor = rail.descriptor
        let asset = descriptor.assets[0].id
        let merchant = "\(descriptor.id.dropFirst(5)):merchant"
        let final = RailDelivery(id: "evt-final", events: [Self.event("final", "tx1", asset, merchant: merchant)])
        await #expect(throws: RailError.self) { try await booker.take(final, on: descriptor) }
        #expect(
            try await booker.take(
                RailDelivery(id: "evt-seen", events: [Self.event("seen", "tx1", asset, merchant: merchant)]), on: descriptor))
        #expect(try await booker.take(final, on: descriptor))
        #expect(try await booker.take(final, on: descriptor) == false)
        #expect(try await ledger.balance(of: AccountID(merchant)).posted.description == "100")
    }

    @Test func aRefusedEventKeepsThePullBeforeItsPage() async throws {
        let ledger = try await TestDatabase.ledger()
        // Gas paid from a hot wallet that holds nothing: the ledger refuses it (no overdraft).
        let rail = Self.rail { tag, asset in
            [Self.event("gas", "tx1", asset, merchant: "\(tag):merchant"), Self.event("seen", "tx2", asset, merchant: "\(tag):merchant")]
        }
        let booker = RailBooker(ledger: ledger)
        try await booker.install(rail.descriptor)
        let report = try await booker.sync(rail, pageSize: 10)
        #expect(report.rejected["gas:tx1"]?.code == .exceedsDebits)
        #expect(report.created == 1)
        #expect(try await booker.cursor(of: rail.descriptor.id) == nil)
    }

    @Test func aSquattedIdIsRefusedToKeysAndAlertedAndRetriedByThePull() async throws {
        let ledger = try await TestDatabase.ledger()
        let rail = Self.rail { tag, asset in
            [Self.event("seen", "tx1", asset, merchant: "\(tag):merchant"), Self.event("seen", "tx2", asset, merchant: "\(tag):merchant")]
        }
        let booker = RailBooker(ledger: ledger)
        try await booker.install(rail.descriptor)
        let asset = rail.descriptor.assets[0].id
        let tag = rail.descriptor.id.dropFirst(5)
        let (from, to) = (try AccountID("\(tag):squat:a"), try AccountID("\(tag):squat:b"))
        _ = try await ledger.createAccounts([
            Account(id: from, asset: asset, normalSide: .debit), Account(id: to, asset: asset, normalSide: .credit),
        ])
        let id = try FundFlow.transferID(rail: rail.descriptor.id, transition: "seen", reference: "tx1")
        let squat = NewTransfer(id: id, .post([.debit(from, 1), .credit(to, 1)]))
        // Installing the rail reserved its namespace: no API key may take the id.
        #expect(try await ledger.post(squat, authority: .apiKey(accountPrefix: nil)).error?.code == .reservedNamespace)
        // Taken anyway (by the ledger's own authority, as before the namespace existed).
        #expect(try await ledger.post(squat).error == nil)
        for _ in 0..<2 {
            let report = try await booker.sync(rail, pageSize: 10)
            #expect(report.rejected["seen:tx1"]?.code == .existsWithDifferentFields)
            #expect(try await booker.cursor(of: rail.descriptor.id) == nil)
        }
    }

    @Test func reverseConflictsAreCaughtByTheLedger() async throws {
        let ledger = try await TestDatabase.ledger()
        let rail = Self.rail { tag, asset in [Self.event("seen", "tx1", asset, merchant: "\(tag):merchant")] }
        let booker = RailBooker(ledger: ledger)
        try await booker.install(rail.descriptor)
        let asset = rail.descriptor.assets[0].id
        let merchant = "\(rail.descriptor.id.dropFirst(5)):merchant"
        #expect(try await booker.book([Self.event("seen", "tx1", asset, merchant: merchant)], on: rail.descriptor) == [.created])
        #expect(try await booker.book([Self.event("seen", "tx1", asset, merchant: merchant)], on: rail.descriptor) == [.exists])
        // The rail reporting other figures for the same movement is never booked over the first.
        let changed = try await booker.book([Self.event("seen", "tx1", asset, merchant: merchant, amount: 999)], on: rail.descriptor)
        guard case .rejected(let error) = changed[0] else { Issue.record("expected a rejection, got \(changed)"); return }
        #expect(error.code == .existsWithDifferentFields)
    }
}
