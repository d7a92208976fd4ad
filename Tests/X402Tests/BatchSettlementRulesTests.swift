import DevChain
import EVM
import Foundation
import Hummingbird
import Ledger
import Testing

@testable import X402

/// batch-settlement payloads signed in Swift against a Settle route: each bad one gets the
/// scheme's reason code and books nothing; vouchers follow the cumulative rule one at a time.
struct BatchSettlementRulesTests {
    static func with(
        depositMethod: X402BatchConfiguration.DepositMethod = .erc3009, _ body: (BatchHarness, String, PrivateKey) async throws -> Void
    ) async throws {
        try await X402Harness.with { h in
            let batch = try await BatchHarness(h, depositMethod: depositMethod)
            let url = try await batch.start()
            try await body(batch, url, try await h.fundedPayer())
        }
    }

    @Test func supportedListsTheKindWithItsReceiverAuthorizer() async throws {
        try await X402Harness.with { h in
            let b = try await BatchHarness(h)
            let supported = try await b.server.facilitator.supported()
            #expect(
                supported.kinds == [
                    .init(
                        x402Version: 2, scheme: "batch-settlement", network: X402Harness.network,
                        extra: ["receiverAuthorizer": .string(b.configuration.receiverAuthorizer.address.checksummed)])
                ])
            #expect(supported.signers["eip155:*"] == [BatchHarness.signer.address.checksummed])
            #expect(b.requirements.extra?["withdrawDelay"] == .number("900"))
            #expect(b.requirements.extra?["minDeposit"] == .string("10000"))
        }
    }

    @Test func oneFacilitatorAPIServesExactAndBatchSettlement() async throws {
        try await X402Harness.with { h in
            let b = try await BatchHarness(h)
            let router = Router(context: BasicRequestContext.self)
            let facilitator = SchemeFacilitators(["exact": h.facilitator, "batch-settlement": b.server.facilitator])
            X402FacilitatorRoutes.add(to: router.group("facilitator"), facilitator: facilitator, access: .open)
            let client = X402FacilitatorClient(url: try await h.serve(router) + "/facilitator")
            let supported = try await client.supported()
            #expect(supported.kinds.map(\.scheme) == ["batch-settlement", "exact"])
            #expect(
                supported.kinds.first?.extra?["receiverAuthorizer"] == .string(b.configuration.receiverAuthorizer.address.checksummed))
            #expect(
                Set(supported.signers["eip155:*"] ?? []) == [
                    X402Harness.facilitatorKey.address.checksummed, BatchHarness.signer.address.checksummed,
                ])
            // A sweep with nothing claimed, through the API.
            let sweep = PaymentPayload(
                accepted: b.requirements,
                payload: .object([
                    "type": .string("settle"), "receiver": .string(h.payTo.checksummed), "token": .string(b.requirements.asset),
                ]))
            let answer = try await client.settle(sweep, requirements: b.requirements)
            #expect(!answer.success && answer.errorReason == .batchNothingToSettle)
            var other = b.requirements
            other.scheme = "upto"
            #expect(try await client.verify(sweep, requirements: other).invalidReason == .unsupportedScheme)
        }
    }

    @Test func depositsThatAreNotTheRoutesAreRefusedAndNothingIsBooked() async throws {
        try await Self.with { b, url, payer in
            let good = b.config(payer: payer)
            let stranger = PrivateKey.random()
            let cases: [(String, PaymentPayload, X402Reason)] = [
                (
                    "wrong collector", b.deposit(good, amount: 10_000, key: payer, collector: stranger.address),
                    .batchReceiveAuthorizationSignature
                ),
                (
                    "ERC-3009 signed by another key", b.deposit(good, amount: 10_000, key: payer, signer: stranger),
                    .batchReceiveAuthorizationSignature
                ),
                (
                    "channel id not the config's hash", b.deposit(good, amount: 10_000, key: payer, channelID: X402Harness.randomNonce()),
                    .batchChannelIDMismatch
                ),
                (
                    "another token", b.deposit(b.config(payer: payer, token: stranger.address), amount: 10_000, key: payer),
                    .batchTokenMismatch
                ),
                (
                    "another receiver", b.deposit(b.config(payer: payer, receiver: stranger.address), amount: 10_000, key: payer),
                    .batchReceiverMismatch
                ),
                (
                    "another receiver authorizer",
                    b.deposit(b.config(payer: payer, receiverAuthorizer: stranger.address), amount: 10_000, key: payer),
                    .batchReceiverAuthorizerMismatch
                ),
                (
                    "another withdraw delay", b.deposit(b.config(payer: payer, withdrawDelay: 1800), amount: 10_000, key: payer),
                    .batchWithdrawDelayMismatch
                ),
                ("voucher signed by another key", b.deposit(good, amount: 10_000, key: stranger, signer: payer), .batchVoucherSignature),
            ]
            let before = try await b.h.tokenBalance(payer.address)
            for (name, payload, reason) in cases {
                let answer = try await X402Harness.pay(url + "/metered", payload)
                #expect(answer.status == 402, "\(name): \(answer.status) \(answer.body)")
                #expect(answer.paymentRequired?.error == reason.rawValue, "\(name)")
                #expect(answer.body != "metered content", "\(name)")
            }
            #expect(try await b.h.tokenBalance(payer.address) == before)
            #expect(try await b.h.tokenBalance(BatchSettlement.address) == .zero)
            #expect(try await b.channelRow(good.channelID(in: b.domain)) == nil)
            #expect(try await b.h.merchantBalance().posted == .zero)
        }
    }

    @Test func permit2DepositsOffTheRulesAreRefusedAndAGoodOneGoesThroughPermit2() async throws {
        try await Self.with(depositMethod: .permit2) { b, url, payer in
            let good = b.config(payer: payer)
            let stranger = PrivateKey.random()
            func refused(_ name: String, _ payload: PaymentPayload, _ reason: X402Reason) async throws {
                let answer = try await X402Harness.pay(url + "/metered", payload)
                #expect(answer.status == 402, "\(name): \(answer.status) \(answer.body)")
                #expect(answer.paymentRequired?.error == reason.rawValue, "\(name): \(answer.paymentRequired?.error ?? "-")")
            }
            let before = try await b.h.tokenBalance(payer.address)
            try await refused("not approved to Permit2", b.permit2Deposit(good, amount: 10_000, key: payer), .batchPermit2AllowanceRequired)
            try await UptoTests.approvePermit2(b.h, payer)
            let cases: [(String, PaymentPayload, X402Reason)] = [
                ("ERC-3009 on a Permit2 route", b.deposit(good, amount: 10_000, key: payer), .batchPermit2AuthorizationRequired),
                (
                    "another spender", b.permit2Deposit(good, amount: 10_000, key: payer, spender: stranger.address),
                    .batchPermit2InvalidSpender
                ),
                (
                    "signed by another key", b.permit2Deposit(good, amount: 10_000, key: payer, signer: stranger),
                    .batchPermit2InvalidSignature
                ),
                (
                    "permit of another amount", b.permit2Deposit(good, amount: 10_000, key: payer, permitted: 9_999),
                    .batchPermit2AmountMismatch
                ),
                ("deadline passed", b.permit2Deposit(good, amount: 10_000, key: payer, deadlineIn: -1), .batchPermit2DeadlineExpired),
                (
                    "witness of another channel",
                    b.permit2Deposit(good, amount: 10_000, key: payer, witness: X402Harness.randomNonce()), .batchChannelIDMismatch
                ),
            ]
            for (name, payload, reason) in cases { try await refused(name, payload, reason) }
            #expect(try await b.h.tokenBalance(payer.address) == before)
            #expect(try await b.channelRow(good.channelID(in: b.domain)) == nil)

            let paid = try await X402Harness.pay(url + "/metered", b.permit2Deposit(good, amount: 10_000, key: payer))
            #expect(paid.status == 200, "\(paid.body)")
            #expect(try await b.h.tokenBalance(BatchSettlement.address) == 10_000)
            #expect(try await b.h.tokenBalance(payer.address) == before - 10_000)
            #expect(try await b.channelRow(good.channelID(in: b.domain))?.chain.balance == 10_000)
        }
    }

    @Test func vouchersOffTheCumulativeRuleGetTheChannelStateAndBookNothing() async throws {
        try await Self.with { b, url, payer in
            let config = b.config(payer: payer)
            let id = config.channelID(in: b.domain)
            let opened = try await X402Harness.pay(url + "/metered", b.deposit(config, amount: 10_000, key: payer))
            #expect(opened.status == 200 && opened.body == "metered content", "\(opened.status) \(opened.body)")
            #expect(opened.paymentResponse?.amount == "10000")

            for (name, ceiling) in [("a repeat", EVM.UInt256(1000)), ("below", 500), ("above", 3000)] {
                let answer = try await X402Harness.pay(url + "/metered", b.voucher(config, ceiling, key: payer))
                #expect(answer.status == 402, "\(name)")
                let required = try #require(answer.paymentRequired)
                #expect(required.error == X402Reason.batchCumulativeMismatch.rawValue, "\(name)")
                let extra = try #require(required.accepts.first?.extra)
                #expect(extra["channelState"]?["chargedCumulativeAmount"]?.stringValue == "1000", "\(name)")
                #expect(extra["channelState"]?["balance"]?.stringValue == "10000", "\(name)")
                #expect(extra["voucherState"]?["signedMaxClaimable"]?.stringValue == "1000", "\(name)")
            }
            let forged = try await X402Harness.pay(url + "/metered", b.voucher(config, 2000, key: PrivateKey.random()))
            #expect(forged.paymentRequired?.error == X402Reason.batchVoucherSignature.rawValue)
            // A handler that fails is not charged.
            let failed = try await X402Harness.pay(url + "/metered-fails", b.voucher(config, 2000, key: payer))
            #expect(failed.status == 500)
            #expect(try await b.channelRow(id)?.charged == 1000)

            let paid = try await X402Harness.pay(url + "/metered", b.voucher(config, 2000, key: payer))
            #expect(paid.status == 200 && paid.body == "metered content")
            #expect(paid.paymentResponse?.extra?["channelState"]?["chargedCumulativeAmount"]?.stringValue == "2000")
            #expect(paid.paymentResponse?.extra?["chargedAmount"]?.stringValue == "1000")
            #expect(try await b.chargesBooked(id) == Ledger.UInt256(2000))
            #expect(try await b.h.merchantBalance().posted == Ledger.UInt256(2000))
            let row = try #require(try await b.channelRow(id))
            #expect(row.charged == 2000 && row.signedMax == 2000)
        }
    }

    @Test func aVoucherContinuingWhatAReplicaChargedSinceIsNeverChargedTwice() async throws {
        try await Self.with { b, url, payer in
            let replica = b.replica()
            let replicaURL = try await replica.start()
            let config = b.config(payer: payer)
            let id = config.channelID(in: b.domain)
            #expect(try await X402Harness.pay(url + "/metered", b.deposit(config, amount: 50_000, key: payer)).status == 200)
            #expect(try await X402Harness.pay(url + "/metered", b.voucher(config, 2000, key: payer)).status == 200)
            let elsewhere = try await X402Harness.pay(replicaURL + "/metered", b.voucher(config, 3000, key: payer))
            #expect(elsewhere.status == 200, "\(elsewhere.status) \(elsewhere.body)")
            // The first server kept the channel at 2000, so the replica's voucher continues what it
            // kept; its commit finds the row moved, and the payer is told where the channel is.
            let again = try await X402Harness.pay(url + "/metered", b.voucher(config, 3000, key: payer))
            #expect(again.status == 402)
            #expect(again.paymentRequired?.error == X402Reason.batchCumulativeMismatch.rawValue)
            let extra = try #require(again.paymentRequired?.accepts.first?.extra)
            #expect(extra["channelState"]?["chargedCumulativeAmount"]?.stringValue == "3000")
            #expect(try await b.chargesBooked(id) == Ledger.UInt256(3000))
            // The next voucher continues the row, read again.
            let next = try await X402Harness.pay(url + "/metered", b.voucher(config, 4000, key: payer))
            #expect(next.status == 200, "\(next.status) \(next.body)")
            #expect(try await b.channelRow(id)?.charged == 4000)
            #expect(try await b.chargesBooked(id) == Ledger.UInt256(4000))
            #expect(try await b.h.merchantBalance().posted == Ledger.UInt256(4000))
        }
    }

    @Test func concurrentVouchersOnOneChannelAreChargedOnce() async throws {
        try await Self.with { b, url, payer in
            let config = b.config(payer: payer)
            let id = config.channelID(in: b.domain)
            #expect(try await X402Harness.pay(url + "/metered", b.deposit(config, amount: 50_000, key: payer)).status == 200)
            for round in 2...4 {
                let ceiling = EVM.UInt256(UInt64(round * 1000))
                let payload = b.voucher(config, ceiling, key: payer)
                let answers = try await withThrowingTaskGroup(of: X402Harness.HTTPAnswer.self) { group in
                    for _ in 0..<12 { group.addTask { try await X402Harness.pay(url + "/metered", payload) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(answers.filter { $0.status == 200 }.count == 1, "round \(round): \(answers.map(\.status))")
                for refused in answers where refused.status != 200 {
                    let reason = refused.paymentRequired?.error
                    #expect(
                        reason == X402Reason.batchChannelBusy.rawValue || reason == X402Reason.batchCumulativeMismatch.rawValue,
                        "round \(round): \(refused.status) \(reason ?? refused.body)")
                }
                #expect(try await b.channelRow(id)?.charged == ceiling)
            }
            #expect(try await b.chargesBooked(id) == Ledger.UInt256(4000))
        }
    }
}
