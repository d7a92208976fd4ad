import DevChain
import EVM
import Foundation
import Ledger
import NIOHTTP1
import PostgresNIO
import SettleTesting
import Testing

@testable import X402

/// The middleware through real HTTP: bad inputs, replays, pending settlements, many agents.
struct MiddlewareTests {
    @Test func unpaidRequestsGet402WithTheRequirements() async throws {
        try await X402Harness.with { h in
            let url = try await h.startServer()
            let answer = try await X402Harness.get(url + "/paid")
            #expect(answer.status == 402)
            #expect(answer.headers.first(name: "Cache-Control") == "no-store")
            let required = try #require(answer.paymentRequired)
            #expect(required.x402Version == 2)
            #expect(required.accepts == [h.requirements()])
            #expect(required.resource.url.hasSuffix("/paid"))
            #expect(required.extensions?["payment-identifier"] != nil)
            // v1 clients read the body.
            let v1 = try JSONDecoder().decode(PaymentRequiredV1.self, from: Data(answer.body.utf8))
            #expect(v1.x402Version == 1)
            #expect(v1.accepts.first?.network == "devchain")
            #expect(v1.accepts.first?.maxAmountRequired == "1000")
            #expect(try await X402Harness.get(url + "/free").body == "free content")
        }
    }

    @Test func badPaymentsAreRefusedWithTheirReasonAndNothingIsBooked() async throws {
        try await X402Harness.with { h in
            let url = try await h.startServer()
            let payer = try await h.fundedPayer()
            let requirements = h.requirements()
            let now = UInt64(Date().timeIntervalSince1970)
            func refused(_ header: String, _ name: String = "PAYMENT-SIGNATURE") async throws -> (Int, String?) {
                let answer = try await X402Harness.get(url + "/paid", headers: [(name, header)])
                #expect(answer.body != "paid content")
                return (answer.status, answer.paymentRequired?.error)
            }
            func refused(_ payload: PaymentPayload) async throws -> (Int, String?) {
                try await refused(X402HeaderCodec.standard.encode(payload))
            }
            #expect(try await refused("%%%not-base64%%%") == (400, "invalid_payload"))
            #expect(try await refused(Data("{not json".utf8).base64EncodedString()) == (400, "invalid_payload"))
            #expect(try await refused(Data(#"{"x402Version":2}"#.utf8).base64EncodedString()) == (400, "invalid_payload"))
            #expect(try await refused(String(repeating: "QUFB", count: 5000)) == (400, "invalid_payload"))
            let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
            #expect(try await refused(Data(deep.utf8).base64EncodedString()) == (400, "invalid_payload"))
            #expect(
                try await refused(try X402Harness.payment(key: payer, requirements: requirements, signer: .random())) == (
                    402, X402Reason.invalidSignature.rawValue
                ))
            let otherDomain = TokenDomain(name: "USDC", version: "2", chainID: 31337, verifyingContract: X402Harness.tokenAddress)
            #expect(
                try await refused(try X402Harness.payment(key: payer, requirements: requirements, domain: otherDomain)) == (
                    402, X402Reason.invalidSignature.rawValue
                ))
            let otherChain = TokenDomain(name: "USD Coin", version: "2", chainID: 8453, verifyingContract: X402Harness.tokenAddress)
            #expect(
                try await refused(try X402Harness.payment(key: payer, requirements: requirements, domain: otherChain)) == (
                    402, X402Reason.invalidSignature.rawValue
                ))
            #expect(
                try await refused(try X402Harness.payment(key: payer, requirements: requirements, value: 999)) == (
                    402, X402Reason.valueMismatch.rawValue
                ))
            #expect(
                try await refused(try X402Harness.payment(key: payer, requirements: requirements, to: PrivateKey.random().address)) == (
                    402, X402Reason.recipientMismatch.rawValue
                ))
            #expect(
                try await refused(try X402Harness.payment(key: payer, requirements: requirements, validBefore: now + 3)) == (
                    402, X402Reason.validBefore.rawValue
                ))
            #expect(
                try await refused(try X402Harness.payment(key: payer, requirements: requirements, validAfter: now + 120)) == (
                    402, X402Reason.validAfter.rawValue
                ))
            #expect(
                try await refused(try X402Harness.payment(key: PrivateKey.random(), requirements: requirements)) == (
                    402, X402Reason.insufficientBalance.rawValue
                ))
            var otherNetwork = requirements
            otherNetwork.network = "eip155:1"
            #expect(
                try await refused(try X402Harness.payment(key: payer, requirements: otherNetwork)) == (
                    402, X402Reason.networkMismatch.rawValue
                ))
            var otherAsset = requirements
            otherAsset.asset = "0x0000000000000000000000000000000000000bad"
            #expect(
                try await refused(try X402Harness.payment(key: payer, requirements: otherAsset)) == (
                    402, X402Reason.invalidPaymentRequirements.rawValue
                ))
            // v1 with an unknown network name.
            let v1 = PaymentPayloadV1(
                scheme: "exact", network: "base", payload: try X402Harness.payment(key: payer, requirements: requirements).payload)
            #expect(try await refused(X402HeaderCodec.standard.encode(v1), "X-PAYMENT") == (402, X402Reason.networkMismatch.rawValue))
            // A handler that fails after a valid payment settles nothing.
            let failing = try await X402Harness.pay(url + "/fails", try X402Harness.payment(key: payer, requirements: requirements))
            #expect(failing.status == 500)
            #expect(failing.paymentResponse == nil)

            #expect(try await h.tokenBalance(h.payTo) == 0)
            #expect(try await h.facilitatorTransactions() == 0)
            let balance = try await h.merchantBalance()
            #expect(balance.posted == .zero && balance.pending == .zero)
        }
    }

    @Test func aPaymentIsServedOnceAndNotOnAnotherRoute() async throws {
        try await X402Harness.with { h in
            let url = try await h.startServer()
            let payer = try await h.fundedPayer()
            let payload = try X402Harness.payment(key: payer, requirements: h.requirements())
            let paid = try await X402Harness.pay(url + "/paid", payload)
            #expect(paid.status == 200)
            #expect(paid.body == "paid content")
            #expect(paid.headers.first(name: "Cache-Control") == "private, no-store")
            let settlement = try #require(paid.paymentResponse)
            #expect(settlement.success && settlement.transaction.count == 66)
            #expect(settlement.payer == payer.address.checksummed)

            for route in ["/paid", "/paid-twin"] {
                let replay = try await X402Harness.pay(url + route, payload)
                #expect(replay.status == 402)
                #expect(replay.paymentRequired?.error == X402Reason.nonceAlreadyUsed.rawValue)
            }
            let pricier = try await X402Harness.pay(url + "/pricier", payload)
            #expect(pricier.status == 402)
            #expect(pricier.paymentRequired?.error == X402Reason.valueMismatch.rawValue)
            #expect(try await h.tokenBalance(h.payTo) == 1000)
            #expect(try await h.facilitatorTransactions() == 1)
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(1000))
        }
    }

    @Test func paymentIdentifierReplaysTheResponseAndRefusesAnotherPayload() async throws {
        try await X402Harness.with { h in
            let url = try await h.startServer()
            let payer = try await h.fundedPayer()
            let id = "pay_\(UUID().uuidString)"
            let payload = try X402Harness.payment(key: payer, requirements: h.requirements(), paymentID: id)
            let first = try await X402Harness.pay(url + "/paid", payload)
            #expect(first.status == 200)
            let again = try await X402Harness.pay(url + "/paid", payload)
            #expect(again.status == 200)
            #expect(again.body == "paid content")
            #expect(again.paymentResponse == first.paymentResponse)
            let other = try X402Harness.payment(key: payer, requirements: h.requirements(), paymentID: id)
            let conflict = try await X402Harness.pay(url + "/paid", other)
            #expect(conflict.status == 409)
            let short = try X402Harness.payment(key: payer, requirements: h.requirements(), paymentID: "short")
            #expect(try await X402Harness.pay(url + "/paid", short).status == 400)
            #expect(try await h.facilitatorTransactions() == 1)
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(1000))
        }
    }

    @Test func aPaymentWhoseServingIsNotRecordedIsServedOnceLater() async throws {
        let database = try await TestDatabase.isolatedDatabase()
        defer { Task { try? await TestDatabase.dropIsolated(database) } }
        try await withLedger(database) { ledger in try await Self.servedNotRecorded(ledger: ledger) }
    }

    /// The fault is a trigger: DDL, so on a database of its own.
    static func servedNotRecorded(ledger: PostgresLedger) async throws {
        try await X402Harness.with(ledger: ledger) { h in
            // A lease of zero: a retry takes the unrecorded claim over at once.
            let url = try await h.startServer(claimLease: .zero)
            let payer = try await h.fundedPayer()
            let payload = try X402Harness.payment(key: payer, requirements: h.requirements())
            let fault = try await ServedRecordFault.install(payer: payer.address, on: h)
            let first = try await X402Harness.pay(url + "/paid", payload)
            let replay = try await X402Harness.pay(url + "/paid", payload)
            for refused in [first, replay] {
                #expect(refused.status == 503)
                #expect(refused.body.contains(X402Reason.servedNotRecorded.rawValue))
                #expect(refused.paymentResponse?.success == true)
            }
            try await fault.remove()
            let retry = try await X402Harness.pay(url + "/paid", payload)
            #expect(retry.status == 200)
            #expect(retry.body == "paid content")
            let again = try await X402Harness.pay(url + "/paid", payload)
            #expect(again.status == 402)
            #expect(again.paymentRequired?.error == X402Reason.nonceAlreadyUsed.rawValue)
            let served = [first, replay, retry, again].filter { $0.body == "paid content" }
            #expect(served.count == 1)
            #expect(try await h.facilitatorTransactions() == 1)
            #expect(try await h.tokenBalance(h.payTo) == 1000)
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(1000))
        }
    }

    @Test func v1ClientsPayWithXPayment() async throws {
        try await X402Harness.with { h in
            let url = try await h.startServer()
            let payer = try await h.fundedPayer()
            let payload = try X402Harness.payment(key: payer, requirements: h.requirements())
            let v1 = PaymentPayloadV1(scheme: "exact", network: "devchain", payload: payload.payload)
            let answer = try await X402Harness.get(url + "/paid", headers: [("X-PAYMENT", X402HeaderCodec.standard.encode(v1))])
            #expect(answer.status == 200)
            #expect(answer.body == "paid content")
            #expect(answer.headers.first(name: "X-PAYMENT-RESPONSE") != nil)
            #expect(answer.paymentResponse?.success == true)
        }
    }

    @Test func pendingSettlementServesNothingUntilTheReceiptIsSeen() async throws {
        try await X402Harness.with(receiptTimeout: .milliseconds(300)) { h in
            let url = try await h.startServer()
            let payer = try await h.fundedPayer()
            let payload = try X402Harness.payment(key: payer, requirements: h.requirements())
            await h.chain.delayReceipts(blocks: 2)
            let pending = try await X402Harness.pay(url + "/paid", payload)
            #expect(pending.status == 402)
            #expect(pending.body != "paid content")
            let response = try #require(pending.paymentResponse)
            #expect(response.isPending)
            #expect(response.transaction.count == 66)
            #expect(pending.paymentRequired?.error == X402Reason.settlementPending.rawValue)
            var balance = try await h.merchantBalance()
            #expect(balance.posted == .zero)
            #expect(balance.pending == Ledger.UInt256(1000))

            // Still pending: asking again serves nothing and sends nothing new.
            #expect(try await X402Harness.pay(url + "/paid", payload).status == 402)
            await h.chain.delayReceipts(blocks: 0)
            let _: RPCValue = try await h.rpc.request("anvil_mine", [.quantity(UInt64(2))])
            let served = try await X402Harness.pay(url + "/paid", payload)
            #expect(served.status == 200)
            #expect(served.body == "paid content")
            #expect(served.paymentResponse?.transaction == response.transaction)
            #expect(try await h.facilitatorTransactions() == 1)
            balance = try await h.merchantBalance()
            #expect(balance.posted == Ledger.UInt256(1000))
            #expect(balance.pending == .zero)
            #expect(try await X402Harness.pay(url + "/paid", payload).status == 402)
        }
    }

    @Test func hundredAgentsPayConcurrently() async throws {
        try await X402Harness.with { h in
            // Automine stamps every block a second after the last: a hundred blocks run the
            // chain's clock ahead of the wall clock, so the window is wider than a minute.
            let url = try await h.startServer(price: "1234", maxTimeoutSeconds: 600)
            var payloads: [PaymentPayload] = []
            for _ in 0..<100 {
                payloads.append(
                    try X402Harness.payment(
                        key: try await h.fundedPayer(), requirements: h.requirements(amount: "1234", maxTimeoutSeconds: 600)))
            }
            let answers = try await withThrowingTaskGroup(of: X402Harness.HTTPAnswer.self) { group in
                for payload in payloads { group.addTask { try await X402Harness.pay(url + "/paid", payload) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let refused = answers.filter { $0.status != 200 }.map { "\($0.status) \($0.paymentRequired?.error ?? $0.body)" }
            #expect(refused.isEmpty, "\(Set(refused))")
            #expect(answers.filter { $0.status == 200 && $0.body == "paid content" }.count == 100)
            #expect(Set(answers.compactMap { $0.paymentResponse?.transaction }).count == 100)
            #expect(try await h.facilitatorTransactions() == 100)
            #expect(try await h.tokenBalance(h.payTo) == 123_400)
            let balance = try await h.merchantBalance()
            #expect(balance.posted == Ledger.UInt256(123_400))
            #expect(balance.pending == .zero)
            #expect(try await h.settlementStates() == ["settled": 100])
        }
    }
}

/// The database refusing to record one payer's payments as served: a trigger of this test's own.
struct ServedRecordFault {
    let name: String
    let harness: X402Harness

    static func install(payer: Address, on harness: X402Harness) async throws -> ServedRecordFault {
        let name = "x402_test_fault_\(UInt32.random(in: 0...UInt32.max))"
        let client = harness.ledger.client
        try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    create function public.\(name)() returns trigger language plpgsql as $$
                    begin raise exception 'injected fault: served not recorded'; end $$
                    """))
        try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    create trigger \(name) before update on settle.x402_responses for each row
                    when (new.state = 'served' and new.payment_key like '%/\(payer.lowercased)/%')
                    execute function public.\(name)()
                    """))
        return ServedRecordFault(name: name, harness: harness)
    }

    func remove() async throws {
        let client = harness.ledger.client
        try await client.query(PostgresQuery(unsafeSQL: "drop trigger \(name) on settle.x402_responses"))
        try await client.query(PostgresQuery(unsafeSQL: "drop function public.\(name)()"))
    }
}
