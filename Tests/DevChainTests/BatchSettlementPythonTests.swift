import DevChain
import EVM
import Foundation
import SettleTesting
import Testing

/// x402's own batch-settlement client and facilitator (Python, unmodified) against the dev chain's
/// `x402BatchSettlement`: the contract must satisfy the reference implementation.
struct BatchSettlementPythonTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Interop/x402_batch_settlement_devchain.py")

    @Test func officialClientAndFacilitatorDepositPayClaimSettleAndRefund() async throws {
        if let reason = PythonClient.x402UnavailableReason { Issue.record("x402 SDK unavailable: \(reason)") }
        let python = try #require(PythonClient.python)
        try await DevChainHarness.with({
            // Whole-second blocks keep the chain's clock with the wall clock the SDK signs against.
            $0.blockTime = .seconds(1); $0.automine = false
        }) { h in
            let payer = TestAccounts.addresses[6]
            let receiver = TestAccounts.addresses[7]
            let authorizer = TestAccounts.addresses[5]
            let calls = 6
            let payerBefore = try await h.tokenBalance(payer)
            let receiverBefore = try await h.tokenBalance(receiver)
            let arguments = [
                Self.script.path, h.url, DevChainHarness.usdc.checksummed, TestAccounts.privateKeyHex[6], TestAccounts.privateKeyHex[9],
                TestAccounts.privateKeyHex[5], receiver.checksummed, "\(calls)",
            ]
            let output = try JSONDecoder().decode(RPCValue.self, from: try await PythonClient.runOffPool(python, arguments))

            let kinds = output["supported"]?["kinds"]?.arrayValue ?? []
            let batchKinds = kinds.filter { $0["scheme"]?.stringValue == "batch-settlement" }
            #expect(batchKinds.count == 1, "\(kinds)")
            #expect(batchKinds.first?["extra"]?["receiverAuthorizer"]?.stringValue == authorizer.checksummed)
            let verified = output["verify"]?.arrayValue ?? []
            #expect(verified.count == calls, "\(verified)")
            #expect(verified.map { $0["type"]?.stringValue ?? "\($0)" } == ["deposit"] + Array(repeating: "voucher", count: calls - 1))
            #expect(output["deposit"]?["success"]?.boolValue == true, "\(output["deposit"] ?? .null)")
            #expect(output["claim"]?["success"]?.boolValue == true, "\(output["claim"] ?? .null)")
            #expect(output["settle"]?["success"]?.boolValue == true, "\(output["settle"] ?? .null)")
            #expect(output["refundVerify"]?["isValid"]?.boolValue == true, "\(output["refundVerify"] ?? .null)")
            #expect(output["refund"]?["success"]?.boolValue == true, "\(output["refund"] ?? .null)")
            let deposited = UInt256(UInt64(10 * calls * 1000))
            let charged = UInt256(UInt64(calls * 1000))
            #expect(output["refund"]?["amount"]?.stringValue == (deposited - charged).description)
            // (The SDK reads the settled amount from the Settled log only through a `web3` attribute
            // its own web3 signer does not have, so the amounts are checked on chain below.)
            #expect(output["settleAgain"]?["success"]?.boolValue == true, "\(output["settleAgain"] ?? .null)")
            #expect(output["staleRefund"]?["success"]?.boolValue == false, "\(output["staleRefund"] ?? .null)")

            // On chain: the receiver got what the vouchers charged, the payer the rest back.
            let id = try Hash32(hex: try #require(output["channelId"]?.stringValue))
            let state = try ABI.decode(
                [.uint256, .uint256],
                from: try await h.rpc.call(
                    CallRequest(to: BatchSettlement.address, data: ABI.encodeCall("channels(bytes32)", [.bytes32(id)]))))
            #expect(state == [.uint(charged), .uint(charged)])
            #expect(try await h.tokenBalance(receiver) == receiverBefore + charged)
            #expect(try await h.tokenBalance(payer) == payerBefore - charged)
            #expect(try await h.tokenBalance(BatchSettlement.address) == .zero)
            let refundTransaction = try Hash32(hex: try #require(output["refund"]?["transaction"]?.stringValue))
            let receipt = try #require(try await h.rpc.transactionReceipt(refundTransaction))
            #expect(receipt.succeeded && receipt.to == BatchSettlement.address)
        }
    }
}
