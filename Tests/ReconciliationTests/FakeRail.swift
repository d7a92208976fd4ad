import Foundation
import Ledger
import RailKit

/// A rail conforming to `Rail` whose statement is whatever the test gives it: the fault matrix
/// without a processor. `received` books gross, fee and net into a clearing account; `settled`
/// moves the gross on to the merchant, so clearing returns to zero once both are booked.
struct FakeRail: Rail {
    /// What the statement does at a page.
    enum Behaviour: Sendable {
        case normal
        /// The rail is down from this page on.
        case failAt(page: Int)
        /// The rail hangs at this page until the task is cancelled (a killed run).
        case hangAt(page: Int)
    }

    let descriptor: RailDescriptor
    var records: [StatementRecord]
    var behaviour: Behaviour = .normal
    var pageSize = 3

    static let flow = FundFlow(
        states: ["booked", "settled"],
        accounts: [
            .init("fake:{asset}:cash", normalSide: .debit, summary: "what the rail holds"),
            .init("fake:{asset}:fees", normalSide: .debit, summary: "fees"),
            .init("fake:{asset}:clearing", normalSide: .credit, clearing: true, summary: "gross until settled"),
            .init("fake:{asset}:merchant", normalSide: .credit, summary: "the merchant"),
        ],
        transitions: [
            .init(
                "received", from: [], to: "booked",
                postings: [
                    .init(.debit, "fake:{asset}:cash", "net"), .init(.debit, "fake:{asset}:fees", "fee"),
                    .init(.credit, "fake:{asset}:clearing", "amount"),
                ], summary: "money in"),
            .init(
                "settled", from: ["booked"], to: "settled",
                postings: [.init(.debit, "fake:{asset}:clearing", "amount"), .init(.credit, "fake:{asset}:merchant", "amount")],
                summary: "allocated to the merchant"),
        ])

    init(id: String, asset: AssetID, records: [StatementRecord] = []) {
        descriptor = RailDescriptor(
            id: id, kind: "fake", summary: "test rail", assets: [Asset(id: asset, code: "USD", scale: 2)], capabilities: [.statements],
            fundFlow: Self.flow)
        self.records = records
    }

    func statement(from: Date, to: Date, cursor: String?, pageSize: Int) async throws(RailError) -> StatementPage {
        let start = Int(cursor ?? "0") ?? 0
        let page = start / self.pageSize
        switch behaviour {
        case .failAt(let at) where page >= at: throw RailError(.transport, "the rail is down")
        case .hangAt(let at) where page >= at:
            do { try await Task.sleep(for: .seconds(3_600)) } catch { throw RailError(.transport, "cancelled") }
            throw RailError(.timeout, "hung")
        default: break
        }
        let end = min(records.count, start + self.pageSize)
        return StatementPage(records: Array(records[start..<end]), nextCursor: String(end), hasMore: end < records.count)
    }
}
