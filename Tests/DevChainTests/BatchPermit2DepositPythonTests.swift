import DevChain
import EVM
import Foundation
import SettleTesting
import Testing

/// x402's own batch-settlement client and facilitator (Python, unmodified) deposit through the dev
/// chain's Permit2 deposit collector: Permit2 and the collector must satisfy the reference.
struct BatchPermit2DepositPythonTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Interop/x402_batch_permit2_deposit_devchain.py")

    @Test func officialClientDepositsThroughThePermit2Collector() async throws {
        if let reason = PythonClient.x402UnavailableReason { Issue.record("x402 SDK unavailable: \(reason)") }
        let python = try #require(PythonClient.python)
        try await DevChainHarness.with({
            // Whole-second blocks keep the chain's clock with the wall clock the SDK signs against.
            $0.blockTime = .seconds(1); $0.automine = false
        }) { h in
            let payer = DevChainHarness.keys[6]
            let approve = try await h.send(
                from: payer, to: DevChainHarness.usdc,
                data: ABI.encodeCall("approve(address,uint256)", [.address(Permit2.address), .uint(.max)]))
            #expect(try await h.waitForReceipt(approve).succeeded)
            let before = try await h.tokenBalance(payer.address)
            let arguments = [
                Self.script.path, h.url, DevChainHarness.usdc.checksummed, TestAccounts.privateKeyHex[6], TestAccounts.privateKeyHex[9],
                TestAccounts.privateKeyHex[5], TestAccounts.addresses[7].checksummed,
            ]
            let output = try JSONDecoder().decode(RPCValue.self, from: try await PythonClient.runOffPool(python, arguments))

            let authorization = output["deposit"]?["deposit"]?["authorization"]?["permit2Authorization"]
            #expect(authorization?["spender"]?.stringValue == BatchSettlement.permit2DepositCollector.checksummed, "\(output)")
            #expect(output["verify"]?["isValid"]?.boolValue == true, "\(output["verify"] ?? .null)")
            #expect(output["settle"]?["success"]?.boolValue == true, "\(output["settle"] ?? .null)")
            #expect(output["voucherType"]?.stringValue == "voucher")
            #expect(output["voucherVerify"]?["isValid"]?.boolValue == true, "\(output["voucherVerify"] ?? .null)")

            // On chain: the deposit went from the payer straight to the settlement contract.
            #expect(try await h.tokenBalance(payer.address) == before - 50_000)
            #expect(try await h.tokenBalance(BatchSettlement.address) == 50_000)
            #expect(try await h.tokenBalance(BatchSettlement.permit2DepositCollector) == .zero)
            let transaction = try Hash32(hex: try #require(output["settle"]?["transaction"]?.stringValue))
            let receipt = try #require(try await h.rpc.transactionReceipt(transaction))
            #expect(receipt.succeeded && receipt.to == BatchSettlement.address)
        }
    }
}
