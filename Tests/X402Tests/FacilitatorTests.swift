import AsyncHTTPClient
import DevChain
import EVM
import Foundation
import Ledger
import NIOCore
import NIOHTTP1
import RailKit
import SettleTesting
import Testing

@testable import X402

/// The facilitator against the dev chain and the test database.
struct FacilitatorTests {
    @Test func concurrentDuplicateSettlesSendOneTransaction() async throws {
        // The duplicates wait for the first one's receipt: no bound on how long a loaded machine
        // takes to get there (with 10 s, a full suite run answered some of them pending).
        try await X402Harness.with(receiptTimeout: .seconds(3_600)) { h in
            let payer = try await h.fundedPayer()
            let requirements = h.requirements(amount: "2500")
            let payload = try X402Harness.payment(key: payer, requirements: requirements)
            let before = try await h.facilitatorTransactions()
            let answers = try await withThrowingTaskGroup(of: SettleResponse.self) { group in
                for _ in 0..<8 { group.addTask { try await h.facilitator.settle(payload, requirements: requirements) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.count == 8)
            let failed = answers.filter { !$0.success }
            #expect(failed.isEmpty, "\(failed)")
            #expect(Set(answers.map(\.transaction)).count == 1)
            #expect(try await h.facilitatorTransactions() == before + 1)
            #expect(try await h.tokenBalance(h.payTo) == 2500)
            let balance = try await h.merchantBalance()
            #expect(balance.posted == Ledger.UInt256(2500))
            #expect(balance.pending == .zero)
            // Settled: verify now refuses the nonce, and a later settle answers the same.
            #expect(try await h.facilitator.verify(payload, requirements: requirements).invalidReason == .nonceAlreadyUsed)
            #expect(try await h.facilitator.settle(payload, requirements: requirements) == answers[0])
            #expect(try await h.facilitatorTransactions() == before + 1)
            // The incoming clearing account holds the settled amount until the chain rail books it.
            let incoming = try await h.ledger.balance(of: AccountID("evm:\(X402Harness.token.assetID):incoming:\(h.payTo.lowercased)"))
            #expect(incoming.debitsPosted == Ledger.UInt256(2500))
        }
    }

    @Test(arguments: [false, true])
    func aNewInstanceResumesAfterACrashBetweenBroadcastAndAnswer(sent: Bool) async throws {
        try await X402Harness.with { h in
            let payer = try await h.fundedPayer()
            let requirements = h.requirements(amount: "700")
            let payload = try X402Harness.payment(key: payer, requirements: requirements)
            let before = try await h.facilitatorTransactions()
            // Instance A: reserve, book the hold, sign and store the transaction (and maybe send
            // it), then "crash" before answering.
            let a = h.facilitator
            let payment = try a.parse(payload, requirements).get()
            let gas = try #require(try? await a.validateForSettlement(payment).get())
            let created = try #require(
                try await a.store.reserve(payment.key, requestHash: payment.requestHash, payload: payment.payloadJSON))
            let stored = try await a.broadcast(payment.at(created), gas: gas, send: sent)
            #expect(try await a.store.record(payment.key)?.state == .broadcast)

            // Instance B over the same database, with a fresh nonce cache.
            let b = X402Facilitator(
                configuration: a.configuration, rpc: a.rpc, store: a.store, booker: a.booker, logger: X402Harness.logger)
            let answer = try await b.settle(payload, requirements: requirements)
            #expect(answer.success)
            #expect(answer.transaction == stored.hex)
            #expect(try await h.facilitatorTransactions() == before + 1)
            #expect(try await h.tokenBalance(h.payTo) == 700)
            #expect(try await b.settle(payload, requirements: requirements) == answer)
            #expect(try await a.settle(payload, requirements: requirements) == answer)
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(700))
        }
    }

    @Test func reconcileResolvesPendingSettlementsNobodyAsksAbout() async throws {
        // A database of its own: reconcile takes every open row of the network, and other tests'
        // rows belong to their own dev chains.
        let url = try await TestDatabase.isolatedDatabase()
        defer { Task { try? await TestDatabase.dropIsolated(url) } }
        try await withLedger(url) { ledger in
            try await X402Harness.with(receiptTimeout: .milliseconds(100)) { h in
                let facilitator = X402Facilitator(
                    configuration: h.facilitator.configuration, rpc: h.rpc, store: X402SettlementStore(client: ledger.client),
                    booker: RailBooker(ledger: ledger), logger: X402Harness.logger)
                let payer = try await h.fundedPayer()
                let requirements = h.requirements(amount: "900")
                let payload = try X402Harness.payment(key: payer, requirements: requirements)
                await h.chain.delayReceipts(blocks: 3)
                let pending = try await facilitator.settle(payload, requirements: requirements)
                #expect(pending.isPending && pending.transaction.count == 66)
                #expect(try await ledger.balance(of: h.merchant).creditsPending == Ledger.UInt256(900))
                #expect(try await facilitator.reconcile(olderThan: .zero) == 0)
                await h.chain.delayReceipts(blocks: 0)
                let _: RPCValue = try await h.rpc.request("anvil_mine", [.quantity(UInt64(3))])
                #expect(try await facilitator.reconcile(olderThan: .zero) == 1)
                let balance = try await ledger.balance(of: h.merchant)
                #expect(balance.creditsPosted == Ledger.UInt256(900) && balance.creditsPending == .zero)
                let settled = try await facilitator.settle(payload, requirements: requirements)
                #expect(settled.success && settled.transaction == pending.transaction)
                #expect(try await facilitator.reconcile(olderThan: .zero) == 0)
                #expect(try await h.facilitatorTransactions() == 1)
            }
        }
    }

    @Test func unknownNetworksAndAssetsAreRefused() async throws {
        try await X402Harness.with { h in
            let payer = try await h.fundedPayer()
            var requirements = h.requirements()
            requirements.network = "eip155:999"
            let wrongNetwork = try X402Harness.payment(key: payer, requirements: requirements)
            #expect(try await h.facilitator.verify(wrongNetwork, requirements: requirements).invalidReason == .invalidNetwork)
            requirements = h.requirements()
            requirements.asset = "0x0000000000000000000000000000000000000bad"
            let wrongAsset = try X402Harness.payment(key: payer, requirements: requirements)
            #expect(try await h.facilitator.verify(wrongAsset, requirements: requirements).invalidReason == .failedToGetAssetInfo)
            requirements = h.requirements()
            requirements.extra = nil
            let noDomain = try X402Harness.payment(key: payer, requirements: requirements)
            #expect(try await h.facilitator.verify(noDomain, requirements: requirements).invalidReason == .missingEIP712Domain)
            requirements = h.requirements()
            requirements.scheme = "deferred"
            let deferred = try X402Harness.payment(key: payer, requirements: requirements)
            #expect(try await h.facilitator.verify(deferred, requirements: requirements).invalidReason == .unsupportedScheme)
            // upto is settled here, with Permit2: an EIP-3009 authorization is not its payload.
            requirements.scheme = "upto"
            let upto = try X402Harness.payment(key: payer, requirements: requirements)
            #expect(try await h.facilitator.verify(upto, requirements: requirements).invalidReason == .invalidPayload)
            let settled = try await h.facilitator.settle(wrongNetwork, requirements: wrongNetwork.accepted)
            #expect(!settled.success && settled.errorReason == .invalidNetwork && settled.transaction == "")
        }
    }

    @Test func verifyWithoutChainChecksMakesNoChainCall() async throws {
        try await X402Harness.with(chainChecks: .none) { h in
            let requirements = h.requirements()
            // A payer with no tokens at all: only a chain check could tell.
            let broke = PrivateKey.random()
            let payload = try X402Harness.payment(key: broke, requirements: requirements)
            let blockBefore = await h.chain.blockNumber
            #expect(try await h.facilitator.verify(payload, requirements: requirements).isValid)
            // settle always checks the chain.
            let settled = try await h.facilitator.settle(payload, requirements: requirements)
            #expect(settled.errorReason == .insufficientBalance)
            #expect(await h.chain.blockNumber == blockBefore)
            #expect(try await h.facilitator.store.record(try h.facilitator.parse(payload, requirements).get().key) == nil)
        }
    }

    @Test func theClientSpeaksTheFacilitatorAPI() async throws {
        try await X402Harness.with { h in
            let url = try await h.startServer()
            let client = X402FacilitatorClient(url: url + "/facilitator")
            #expect(try await client.supported() == (try await h.facilitator.supported()))
            let payer = try await h.fundedPayer()
            let requirements = h.requirements(amount: "4200")
            let payload = try X402Harness.payment(key: payer, requirements: requirements)
            let verdict = try await client.verify(payload, requirements: requirements)
            #expect(verdict.isValid && verdict.payer == payer.address.checksummed)
            let wrong = try await client.verify(payload, requirements: h.requirements(amount: "4201"))
            #expect(wrong.invalidReason == .valueMismatch)
            let settled = try await client.settle(payload, requirements: requirements)
            #expect(settled.success && settled.amount == "4200")
            #expect(try await client.settle(payload, requirements: requirements) == settled)
            #expect(try await client.verify(payload, requirements: requirements).invalidReason == .nonceAlreadyUsed)
            #expect(try await h.tokenBalance(h.payTo) == 4200)
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(4200))

            // A body that is not a facilitator request is a 400, which the client reports as an error.
            var request = HTTPClientRequest(url: url + "/facilitator/verify")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: #"{"x402Version":2}"#))
            let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
            #expect(response.status == .badRequest)
            await #expect(throws: X402FacilitatorError.self) {
                try await X402FacilitatorClient(url: url + "/nowhere").supported()
            }
        }
    }

    @Test func paymentsToAnotherPayToOrOfZeroAreRefusedBeforeAnyGas() async throws {
        try await X402Harness.with { h in
            let url = try await h.startServer()
            let client = X402FacilitatorClient(url: url + "/facilitator")
            let payer = try await h.fundedPayer()
            // The payer's own second address: bound consistently, but no merchant of this facilitator.
            let stranger = PrivateKey.random().address
            let toStranger = h.requirements(payTo: stranger)
            let strangerPayload = try X402Harness.payment(key: payer, requirements: toStranger)
            let zero = h.requirements(amount: "0")
            let zeroPayload = try X402Harness.payment(key: payer, requirements: zero)
            for (payload, requirements, reason) in [
                (strangerPayload, toStranger, X402Reason.recipientMismatch), (zeroPayload, zero, .invalidPaymentRequirements),
            ] {
                #expect(try await client.verify(payload, requirements: requirements).invalidReason == reason)
                let settled = try await client.settle(payload, requirements: requirements)
                #expect(!settled.success)
                #expect(settled.errorReason == reason)
                #expect(settled.transaction == "")
            }
            #expect(try await h.facilitatorTransactions() == 0)
            #expect(try await h.tokenBalance(stranger) == 0)
            let balance = try await h.merchantBalance()
            #expect(balance.posted == .zero)
            #expect(balance.pending == .zero)
        }
    }

    @Test func facilitatorRoutesTakeOnlyItsBearerTokensWhenConfigured() async throws {
        try await X402Harness.with { h in
            let url = try await h.startServer(facilitatorAccess: .bearer(tokens: ["token-a", "token-b"]))
            let payer = try await h.fundedPayer()
            let requirements = h.requirements()
            let payload = try X402Harness.payment(key: payer, requirements: requirements)
            for headers in [[:], ["Authorization": "Bearer token-c"], ["Authorization": "Basic token-a"]] {
                let client = X402FacilitatorClient(url: url + "/facilitator", headers: headers)
                await #expect(throws: X402FacilitatorError.self) { try await client.supported() }
                await #expect(throws: X402FacilitatorError.self) { try await client.settle(payload, requirements: requirements) }
            }
            var request = HTTPClientRequest(url: url + "/facilitator/supported")
            request.method = .GET
            let refused = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
            #expect(refused.status == .unauthorized)
            #expect(refused.headers.first(name: "WWW-Authenticate") == "Bearer")
            #expect(try await h.facilitatorTransactions() == 0)

            let client = X402FacilitatorClient(url: url + "/facilitator", headers: ["Authorization": "Bearer token-b"])
            #expect(try await client.supported() == (try await h.facilitator.supported()))
            #expect(try await client.settle(payload, requirements: requirements).success)
        }
    }

    @Test func supportedListsTheNetworkAndSigner() async throws {
        try await X402Harness.with { h in
            let supported = try await h.facilitator.supported()
            #expect(
                supported.kinds == [
                    .init(x402Version: 2, scheme: "exact", network: "eip155:31337"),
                    .init(
                        x402Version: 2, scheme: "upto", network: "eip155:31337",
                        extra: ["facilitatorAddress": .string(X402Harness.facilitatorKey.address.checksummed)]),
                ])
            #expect(supported.signers["eip155:*"] == [X402Harness.facilitatorKey.address.checksummed])
        }
    }
}
