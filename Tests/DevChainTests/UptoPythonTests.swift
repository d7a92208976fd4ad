import DevChain
import EVM
import Foundation
import SettleTesting
import Testing

/// x402's own upto client and facilitator (Python, unmodified) against the dev chain's Permit2 and
/// upto proxy: the contracts must satisfy the reference implementation, and the EVM module's
/// Permit2 digest must be the one eth-account signs.
struct UptoPythonTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/x402_upto_devchain.py")

    @Test func officialClientAndFacilitatorSettleWhatWasCharged() async throws {
        if let reason = PythonClient.x402UnavailableReason { Issue.record("x402 SDK unavailable: \(reason)") }
        let python = try #require(PythonClient.python)
        try await DevChainHarness.with({
            // Whole-second blocks keep the chain's clock with the wall clock the SDK signs against.
            $0.blockTime = .seconds(1); $0.automine = false
        }) { h in
            let payerKey = DevChainHarness.keys[6]
            let facilitator = TestAccounts.addresses[9]
            let merchant = TestAccounts.addresses[7]
            let approve = try await h.send(
                from: payerKey, to: DevChainHarness.usdc,
                data: ABI.encodeCall("approve(address,uint256)", [.address(Permit2.address), .uint(.max)]))
            #expect(try await h.waitForReceipt(approve).succeeded)
            let payerBefore = try await h.tokenBalance(payerKey.address)
            let merchantBefore = try await h.tokenBalance(merchant)
            let arguments = [
                Self.script.path, h.url, DevChainHarness.usdc.checksummed, TestAccounts.privateKeyHex[6], TestAccounts.privateKeyHex[9],
                merchant.checksummed, "5000", "1234",
            ]
            let output = try JSONDecoder().decode(RPCValue.self, from: try await PythonClient.runOffPool(python, arguments))

            let kind = try #require(output["supported"]?["kinds"]?.arrayValue?.first)
            #expect(kind["scheme"]?.stringValue == "upto")
            #expect(kind["extra"]?["facilitatorAddress"]?.stringValue == facilitator.checksummed)
            #expect(output["verify"]?["isValid"]?.boolValue == true, "\(output["verify"] ?? .null)")
            #expect(output["above"]?["success"]?.boolValue == false)
            #expect(output["above"]?["errorReason"]?.stringValue == "invalid_upto_evm_payload_settlement_exceeds_amount")
            #expect(output["settle"]?["success"]?.boolValue == true, "\(output["settle"] ?? .null)")
            #expect(output["settle"]?["amount"]?.stringValue == "1234")
            #expect(output["replay"]?["isValid"]?.boolValue == false, "\(output["replay"] ?? .null)")

            // On chain: exactly the charged amount moved, through the proxy.
            #expect(try await h.tokenBalance(merchant) == merchantBefore + 1_234)
            #expect(try await h.tokenBalance(payerKey.address) == payerBefore - 1_234)
            let transaction = try Hash32(hex: try #require(output["settle"]?["transaction"]?.stringValue))
            let receipt = try #require(try await h.rpc.transactionReceipt(transaction))
            #expect(receipt.succeeded && receipt.to == Permit2.uptoProxy)

            // eth-account signed the digest the EVM module computes for the same permit.
            let a = try #require(output["payload"]?["permit2Authorization"])
            let permit = UptoPermit(
                from: try Address(try #require(a["from"]?.stringValue)),
                token: try Address(try #require(a["permitted"]?["token"]?.stringValue)),
                amount: try UInt256(decimal: try #require(a["permitted"]?["amount"]?.stringValue)),
                spender: try Address(try #require(a["spender"]?.stringValue)),
                nonce: try UInt256(decimal: try #require(a["nonce"]?.stringValue)),
                deadline: try UInt256(decimal: try #require(a["deadline"]?.stringValue)),
                to: try Address(try #require(a["witness"]?["to"]?.stringValue)),
                facilitator: try Address(try #require(a["witness"]?["facilitator"]?.stringValue)),
                validAfter: try UInt256(decimal: try #require(a["witness"]?["validAfter"]?.stringValue)))
            #expect(permit.spender == Permit2.uptoProxy && permit.amount == 5_000 && permit.to == merchant)
            let signature = try Signature(hex: try #require(output["payload"]?["signature"]?.stringValue))
            #expect(try signature.recoverAddress(from: permit.digest(chainID: DevChainHarness.chainID)) == payerKey.address)
        }
    }
}
