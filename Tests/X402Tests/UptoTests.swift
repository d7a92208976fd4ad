import DevChain
import EVM
import Foundation
import Hummingbird
import Ledger
import NIOHTTP1
import SettleTesting
import Testing

@testable import X402

/// x402's `upto` served by the middleware and settled by the in-process facilitator through the dev
/// chain's Permit2 and upto proxy: the handler's charge is settled and booked as `exact` books, and
/// every refusal has the scheme's code with nothing booked and nothing served.
@Suite struct UptoTests {
    static let maximum = "5000"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Interop/x402_upto_client_pays.py")

    /// The route's offer: at most `maximum`, settled by the harness's facilitator.
    static func offer(_ h: X402Harness, facilitator: Address = X402Harness.facilitatorKey.address) -> PaymentRequirements {
        .upto(
            network: X402Harness.network, maximum: maximum, asset: X402Harness.tokenAddress.checksummed, payTo: h.payTo.checksummed,
            name: "USD Coin", version: "2", facilitator: facilitator)
    }

    /// `/tokens` charges `?charge=` (atomic units or a percentage) through `Settlement-Overrides`,
    /// or the maximum without it.
    static func serve(_ h: X402Harness) async throws -> String {
        let router = Router(context: BasicRequestContext.self)
        let paid = X402Server.routes(
            on: router,
            configuration: X402ServerConfiguration(routes: [X402Route(path: "/tokens", accepts: [offer(h)])], tokens: [X402Harness.token]),
            facilitator: h.facilitator, store: X402ResponseStore(client: h.ledger.client, logger: X402Harness.logger))
        paid.get("/tokens") { request, _ -> Response in
            var headers: HTTPFields = [.contentType: "text/plain"]
            if let charge = request.uri.queryParameters["charge"] { headers[.settlementOverrides] = #"{"amount":"\#(charge)"}"# }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "42 tokens")))
        }
        return try await h.serve(router)
    }

    static func approvePermit2(_ h: X402Harness, _ key: PrivateKey) async throws {
        // Gas for the one transaction the payer sends itself.
        let _: RPCValue = try await h.rpc.request(
            "devchain_fund",
            [.object(["address": .string(key.address.lowercased), "ether": .quantity(EVM.UInt256(1_000_000_000_000_000))])])
        let transaction = EIP1559Transaction(
            chainID: 31337, nonce: try await h.rpc.transactionCount(key.address, block: .pending), maxPriorityFeePerGas: 1_000_000_000,
            maxFeePerGas: 3_000_000_000, gasLimit: 100_000, to: X402Harness.tokenAddress,
            data: ABI.encodeCall("approve(address,uint256)", [.address(Permit2.address), .uint(.max)]))
        let hash = try await h.rpc.sendRawTransaction(transaction.signed(with: key).rawBytes)
        #expect(try await h.rpc.transactionReceipt(hash)?.succeeded == true)
    }

    /// A payment signed by `key` for the offer (or a variant of its permit).
    static func payment(
        _ h: X402Harness, key: PrivateKey, signer: PrivateKey? = nil, nonce: EVM.UInt256 = EVM.UInt256(UInt64.random(in: 1...UInt64.max)),
        deadline: UInt64? = nil, facilitator: Address = X402Harness.facilitatorKey.address
    ) -> PaymentPayload {
        let permit = UptoPermit(
            from: key.address, token: X402Harness.tokenAddress, amount: try! EVM.UInt256(decimal: maximum), nonce: nonce,
            deadline: EVM.UInt256(deadline ?? UInt64(Date().timeIntervalSince1970) + 300), to: h.payTo, facilitator: facilitator)
        let signature = permit.sign(with: signer ?? key, chainID: 31337)
        let payload = UptoPermit2Payload(
            signature: signature.hex,
            permit2Authorization: .init(
                from: key.address.checksummed, permitted: .init(token: X402Harness.tokenAddress.checksummed, amount: maximum),
                spender: Permit2.uptoProxy.checksummed, nonce: nonce.description, deadline: permit.deadline.description,
                witness: .init(to: h.payTo.checksummed, facilitator: facilitator.checksummed, validAfter: "0")))
        let json = try! JSONDecoder().decode(JSONValue.self, from: X402HeaderCodec.json(payload))
        return PaymentPayload(accepted: offer(h, facilitator: facilitator), payload: json)
    }

    @Test(.enabled(if: X402Python.enabled, "the x402 Python client is not installed (set CI to make this a failure)"))
    func officialClientPaysWhatTheHandlerCharged() async throws {
        if let reason = X402Python.unavailableReason { Issue.record("x402 Python client unavailable: \(reason)") }
        let python = try #require(X402Python.python)
        try await X402Harness.with { h in
            let url = try await Self.serve(h)
            let payer = try await h.fundedPayer()
            try await Self.approvePermit2(h, payer)
            let data = try await X402Python.runOffPool(
                python, [Self.script.path, url + "/tokens?charge=1234", Hex.encode(payer.bytes), X402Harness.network])
            let output = try JSONDecoder().decode(JSONValue.self, from: data)
            #expect(output["unpaidStatus"] == .number("402"))
            let offered = output["paymentRequired"]?["accepts"]?.arrayValue?.first
            #expect(offered?["scheme"]?.stringValue == "upto")
            #expect(offered?["extra"]?["facilitatorAddress"]?.stringValue == X402Harness.facilitatorKey.address.checksummed)
            #expect(output["paidStatus"] == .number("200"), "\(output)")
            #expect(output["paidBody"]?.stringValue == "42 tokens")
            // The handler's header stays between the handler and the middleware.
            #expect(output["paidHeaders"]?.arrayValue?.compactMap(\.stringValue).filter { $0 == "settlement-overrides" } == [])
            let settle = try #require(output["settleResponse"])
            #expect(settle["success"]?.boolValue == true)
            #expect(settle["amount"]?.stringValue == "1234")
            #expect(output["signed"]?.arrayValue?.first?["permit2Authorization"]?["permitted"]?["amount"]?.stringValue == Self.maximum)
            // On chain the merchant got exactly the charge, through the proxy.
            let transaction = try Hash32(hex: try #require(settle["transaction"]?.stringValue))
            let receipt = try #require(try await h.rpc.transactionReceipt(transaction))
            #expect(receipt.succeeded && receipt.to == Permit2.uptoProxy)
            #expect(try await h.tokenBalance(h.payTo) == 1_234)
            #expect(try await h.tokenBalance(payer.address) == 1_000_000 - 1_234)
            // The ledger booked that amount, as exact books: the hold posted to the merchant.
            let balance = try await h.merchantBalance()
            #expect(balance.posted == Ledger.UInt256(1_234))
            #expect(balance.pending == .zero)
            #expect(try await h.settlementStates() == ["settled": 1])
        }
    }

    @Test func chargesArePercentagesZeroOrTheMaximum() async throws {
        try await X402Harness.with { h in
            let url = try await Self.serve(h)
            let payer = try await h.fundedPayer()
            try await Self.approvePermit2(h, payer)
            let transactions = try await h.facilitatorTransactions()
            // Nothing used: served, nothing settled, no transaction, nothing booked.
            let free = try await X402Harness.pay(url + "/tokens?charge=0", Self.payment(h, key: payer))
            #expect(free.status == 200)
            #expect(free.headers.first(name: "Settlement-Overrides") == nil)
            #expect(free.paymentResponse?.success == true)
            #expect(free.paymentResponse?.transaction == "")
            #expect(free.paymentResponse?.amount == "0")
            #expect(try await h.facilitatorTransactions() == transactions)
            #expect(try await h.merchantBalance().posted == .zero)
            // 12.5% of 5000; then no header: the maximum.
            let part = try await X402Harness.pay(url + "/tokens?charge=12.5%25", Self.payment(h, key: payer))
            #expect(part.status == 200)
            #expect(part.paymentResponse?.amount == "625")
            let full = try await X402Harness.pay(url + "/tokens", Self.payment(h, key: payer))
            #expect(full.status == 200)
            #expect(full.paymentResponse?.amount == Self.maximum)
            // $0.0012 of a 6-decimal token.
            let dollars = try await X402Harness.pay(url + "/tokens?charge=%240.0012", Self.payment(h, key: payer))
            #expect(dollars.status == 200)
            #expect(dollars.paymentResponse?.amount == "1200")
            #expect(try await h.tokenBalance(h.payTo) == 6_825)
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(6_825))
        }
    }

    @Test func dollarOverridesTakeTheTokensDecimalsAndNothingElse() {
        let offer = PaymentRequirements.upto(
            network: X402Harness.network, maximum: "5000", asset: X402Harness.tokenAddress.checksummed,
            payTo: X402Harness.tokenAddress.checksummed,
            name: "USD Coin", version: "2", facilitator: X402Harness.facilitatorKey.address)
        func charge(_ amount: String, decimals: Int? = 6) -> String? {
            guard
                case .success(let settled) = X402Middleware<BasicRequestContext>.settlementRequirements(
                    offer, overrides: #"{"amount":"\#(amount)"}"#, decimals: decimals)
            else { return nil }
            return settled.amount
        }
        #expect(charge("$0.0012") == "1200")
        #expect(charge("$1") == "1000000")
        #expect(charge("$0.0000019") == "1")  // cut, never rounded up
        #expect(charge("$0.01", decimals: 18) == "10000000000000000")
        #expect(charge("$0.01", decimals: nil) == nil)  // a token the server does not know
        for malformed in ["$", "$.5", "$1.", "$-1", "$1e3", "$ 1", "$1.2.3", "0.5$"] {
            #expect(charge(malformed) == nil, "\(malformed)")
        }
    }

    @Test func badInputGetsTheSchemesCodeAndNothingIsBookedOrServed() async throws {
        try await X402Harness.with { h in
            let url = try await Self.serve(h)
            let payer = try await h.fundedPayer()
            func refused(_ path: String, _ payload: PaymentPayload, _ reason: X402Reason, sourceLocation: SourceLocation = #_sourceLocation)
                async throws
            {
                let answer = try await X402Harness.pay(url + path, payload)
                #expect(answer.status == 402, sourceLocation: sourceLocation)
                #expect(answer.body != "42 tokens", sourceLocation: sourceLocation)
                #expect(answer.paymentRequired?.error == reason.rawValue, "\(answer.body)", sourceLocation: sourceLocation)
            }
            // Not approved to Permit2 yet.
            try await refused("/tokens", Self.payment(h, key: payer), .permit2AllowanceRequired)
            try await Self.approvePermit2(h, payer)
            // The handler charges more than the signed maximum.
            try await refused("/tokens?charge=5001", Self.payment(h, key: payer), .uptoSettlementExceedsAmount)
            // Signed for another facilitator: this one may not settle it.
            try await refused("/tokens", Self.payment(h, key: payer, facilitator: TestAccounts.addresses[4]), .uptoFacilitatorMismatch)
            // Signed by another key, or expired.
            try await refused("/tokens", Self.payment(h, key: payer, signer: PrivateKey.random()), .permit2InvalidSignature)
            try await refused(
                "/tokens", Self.payment(h, key: payer, deadline: UInt64(Date().timeIntervalSince1970) - 10), .permit2DeadlineExpired)
            let untouched = try await h.merchantBalance()
            #expect(untouched.posted == .zero && untouched.pending == .zero)
            #expect(try await h.tokenBalance(h.payTo) == .zero)
            #expect(try await h.settlementStates() == [:])
            // A permit settled once is refused after, at the server and at the facilitator.
            let once = Self.payment(h, key: payer)
            #expect(try await X402Harness.pay(url + "/tokens?charge=100", once).status == 200)
            try await refused("/tokens?charge=100", once, .permit2InvalidNonce)
            var again = Self.offer(h)
            again.amount = "200"
            let replay = try await h.facilitator.settle(once, requirements: again)
            #expect(!replay.success)
            #expect(replay.errorReason == .permit2InvalidNonce)
            // Only the one settlement moved money and was booked.
            #expect(try await h.tokenBalance(h.payTo) == 100)
            let booked = try await h.merchantBalance()
            #expect(booked.posted == Ledger.UInt256(100) && booked.pending == .zero)
        }
    }

    @Test func aSettlementDroppedByAReorgIsSentAgainForTheChargeNotTheMaximum() async throws {
        try await FollowTests.with { h, facilitator in
            let payer = try await h.fundedPayer()
            try await Self.approvePermit2(h, payer)
            let payload = Self.payment(h, key: payer)
            var charge = Self.offer(h)
            charge.amount = "700"
            let settled = try await facilitator.settle(payload, requirements: charge)
            #expect(settled.success && settled.amount == "700", "\(settled)")
            let block = try #require(await h.chain.receipt(try Hash32(hex: settled.transaction))).blockNumber
            _ = try await h.chain.reorg(fromBlock: block, requeue: false)
            #expect(try await h.tokenBalance(h.payTo) == 0)
            // The stored transaction goes out again: its charge is read back from it, not the maximum.
            #expect(try await facilitator.follow() == .init(final: 0, resent: 1, reversed: 0))
            #expect(try await h.tokenBalance(h.payTo) == 700)
            #expect(try await facilitator.settle(payload, requirements: charge).transaction == settled.transaction)
            _ = try await h.chain.mine(blocks: 3)
            #expect(try await facilitator.follow() == .init(final: 1, resent: 0, reversed: 0))
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(700))
            #expect(try await FollowTests.incoming(h).posted == SignedAmount(Ledger.UInt256(700)))
            #expect(try await h.ledger.verify().passed)
        }
    }

    /// What the facilitator makes of a failed simulation of the proxy's `settle`: the custom errors
    /// of the proxy and of Permit2, as the dev chain's node returns them, in the scheme's codes.
    @Test func proxyAndPermit2RevertsMapToTheSchemesCodes() async throws {
        try await X402Harness.with { h in
            let payer = try await h.fundedPayer()
            let facilitator = X402Harness.facilitatorKey.address
            let permit = UptoPermit(
                from: payer.address, token: X402Harness.tokenAddress, amount: 5_000, nonce: 9,
                deadline: EVM.UInt256(UInt64(Date().timeIntervalSince1970) + 300), to: h.payTo, facilitator: facilitator)
            let signature = permit.sign(with: payer, chainID: 31337).bytes
            func reason(_ amount: EVM.UInt256, from sender: Address = facilitator, signature: [UInt8]? = nil) async -> X402Reason? {
                do {
                    let data = permit.settleCalldata(amount: amount, signature: signature ?? permit.sign(with: payer, chainID: 31337).bytes)
                    _ = try await h.rpc.estimateGas(CallRequest(from: sender, to: Permit2.uptoProxy, data: data))
                    return nil
                } catch {
                    return X402Reason.upto(forRevert: error)
                }
            }
            #expect(await reason(100) == .permit2AllowanceRequired)
            try await Self.approvePermit2(h, payer)
            #expect(await reason(100) == nil)
            #expect(await reason(100, from: TestAccounts.addresses[4]) == .uptoUnauthorizedFacilitator)
            #expect(await reason(5_001) == .uptoAmountExceedsPermitted)
            #expect(await reason(100, signature: permit.sign(with: PrivateKey.random(), chainID: 31337).bytes) == .permit2InvalidSignature)
            #expect(await reason(100, signature: Array(signature.prefix(10))) == .permit2InvalidSignature)
        }
    }
}
