import Foundation
import Ledger
import NIOCore
import Testing

@testable import LedgerAPI

/// The balance and transfer routes write their JSON by hand; it must be byte for byte what the
/// API's JSON encoder writes for the same value.
@Suite("Hand-written JSON")
struct BalanceWireTests {
    @Test(arguments: [
        (UInt256(0), UInt256(0), UInt256(0), UInt256(0), Int64(0), Account.Side.credit, nil as Date?),
        (UInt256(5), UInt256(1_000), UInt256(7), UInt256(3), 42, .credit, nil),
        (UInt256(1_000), UInt256(5), UInt256(0), UInt256(9), 7, .debit, Date(timeIntervalSince1970: 1_790_000_000.25)),
        (UInt256(10), UInt256(2), UInt256(0), UInt256(0), 3, .credit, Date(timeIntervalSince1970: 0)),
        (UInt256.max, UInt256.max, UInt256.max, UInt256(1), Int64.max, .debit, nil),
    ])
    func handWrittenJSONMatchesTheEncoder(
        dp: UInt256, cp: UInt256, dpe: UInt256, cpe: UInt256, version: Int64, side: Account.Side, asOf: Date?
    ) throws {
        let account = try AccountID("merchant:a.b/c@d+e-f_1")
        let wire = BalanceWire(
            balance: Balance(
                account: account, debitsPosted: dp, creditsPosted: cp, debitsPending: dpe, creditsPending: cpe, version: version,
                normalSide: side, asOf: asOf))
        let expected = String(decoding: try APIJSON.encoder().encode(wire), as: UTF8.self)
        #expect(String(buffer: wire.json) == expected)
    }

    @Test(arguments: [
        TransferResult.created(.init(sequence: 1, recordedAt: Date(timeIntervalSince1970: 1_790_000_000.123456))),
        .exists(.init(sequence: Int64.max, recordedAt: Date(timeIntervalSince1970: 0))),
        .created(.init(sequence: 42, recordedAt: Date(timeIntervalSince1970: 1_790_000_000))),
    ])
    func handWrittenReceiptMatchesTheEncoder(_ result: TransferResult) throws {
        let wire = TransferResultWire(id: try TransferID("pay:agent/7@x+y-z_1.2"), result: result)
        let expected = String(decoding: try APIJSON.encoder().encode(wire), as: UTF8.self)
        #expect(wire.json.map { String(buffer: $0) } == expected)
    }

    @Test func rejectionsKeepTheEncoder() throws {
        let wire = TransferResultWire(id: try TransferID("pay-1"), result: .rejected(LedgerError(.exceedsCredits, "a \"quoted\" message")))
        #expect(wire.json == nil)
    }
}
