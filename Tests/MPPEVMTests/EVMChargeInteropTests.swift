import EVM
import Foundation
import Ledger
import MPPTesting
import SettleTesting
import Testing
import X402

/// Runs `Interop/pympp_evm_pays.py`: pympp 0.16.0's `evm/charge` client (unmodified) signs an
/// EIP-3009 authorization for a Settle route served by `MPPMiddleware`, the x402 facilitator
/// settles it on the dev chain and books it, the client gets the receipt, and its replayed
/// credential gets a 403.
enum PymppEVM {
    static let client = PymppScript(
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/pympp_evm_pays.py"),
        imports: "mpp.methods.evm.client, eth_account, httpx")

    struct Input: Encodable {
        var url: String
        var privateKey: String
        var currency: String
        var chainId: UInt64
        var decimals: Int
        var name: String
        var version: String
    }

    struct Output: Decodable {
        var payer: String
        var status: Int
        var body: String
        var cacheControl: String?
        var receipt: PymppReceipt?
        var payload: [String: String]?
        var source: String?
        var replayStatus: Int?
        var replayProblem: PymppProblem?
        var replayChallenges: Int?
    }
}

@Suite(
    "evm/charge with pympp", .timeLimit(.minutes(3)),
    .enabled(if: PymppEVM.client.enabled, "pympp is not installed (set CI to make this a failure)"))
struct EVMChargeInteropTests {
    @Test func pymppPaysWithAnEIP3009AuthorizationSettledAndBookedByTheFacilitator() async throws {
        if let reason = PymppEVM.client.unavailableReason { Issue.record("pympp unavailable: \(reason)") }
        try await EVMChargeHarness.with { h in
            let payer = try await h.fundedPayer()
            let token = EVMChargeHarness.token
            let output: PymppEVM.Output = try await PymppEVM.client.run(
                PymppEVM.Input(
                    url: h.app.url, privateKey: Hex.encode(payer.bytes), currency: token.address.checksummed, chainId: token.chainID,
                    decimals: token.decimals, name: token.name, version: token.version))
            #expect(output.payer == payer.address.checksummed)
            #expect(output.status == 200)
            #expect(output.body == "paid content")
            #expect(output.cacheControl == "private")
            let receipt = try #require(output.receipt)
            #expect(receipt.status == "success" && receipt.method == "evm")
            // The payload is pympp's, field for field.
            let payload = try #require(output.payload)
            #expect(payload["type"] == "authorization")
            #expect(payload["to"] == h.payTo.checksummed)
            #expect(payload["value"] == EVMChargeHarness.price.description)
            #expect(output.source == "did:pkh:eip155:31337:\(payer.address.checksummed)")
            // Its replay: 403 without a challenge.
            #expect(output.replayStatus == 403)
            #expect(output.replayProblem?.type == "https://paymentauth.org/problems/verification-failed")
            #expect(output.replayChallenges == 0)
            #expect(h.app.servedCount == 1)

            // Settled on chain by the receipt's transaction, once.
            let chainReceipt = try #require(try await h.rpc.transactionReceipt(try Hash32(hex: receipt.reference)))
            #expect(chainReceipt.succeeded)
            #expect(try await h.facilitatorTransactions() == 1)
            #expect(try await h.tokenBalance(h.payTo) == EVMChargeHarness.price)
            #expect(try await h.tokenBalance(payer.address) == EVM.UInt256(1_000_000) - EVMChargeHarness.price)
            // Booked and confirmed as an x402 exact payment: posted, nothing left pending.
            let balance = try await h.merchantBalance()
            #expect(balance.posted == Ledger.UInt256(UInt64(2_500)))
            #expect(balance.pending == .zero)
        }
    }
}
