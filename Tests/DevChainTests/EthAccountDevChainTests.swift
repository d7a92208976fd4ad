import DevChain
import EVM
import Foundation
import SettleTesting
import Testing

/// Runs `Interop/eth_account_devchain.py` (eth-account 0.14, urllib JSON-RPC) against a live dev chain.
enum PythonClient {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Interop/eth_account_devchain.py")
    static let facilitatorScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Interop/x402_facilitator_devchain.py")
    static let packageRoot = InteropPython.repositoryRoot
    static let isCI = InteropPython.isCI

    static let python = InteropPython.interpreter

    /// Nil when Python with eth-account is usable, else why not.
    static let unavailableReason: String? = {
        guard let python else { return "no Python found ($VIRTUAL_ENV/bin/python or \(packageRoot.path)/.venv/bin/python)" }
        do {
            _ = try run(python, ["-c", "import eth_account, eth_abi"])
            return nil
        } catch {
            return "\(python) cannot import eth_account (pip install -r requirements-test.txt): \(error)"
        }
    }()

    /// Nil when the x402 SDK (with web3.py) is importable too, else why not.
    static let x402UnavailableReason: String? = {
        if let unavailableReason { return unavailableReason }
        do {
            _ = try run(python!, ["-c", "import x402, web3"])
            return nil
        } catch {
            return "\(python!) cannot import x402 and web3 (pip install -r requirements-test.txt): \(error)"
        }
    }()

    /// Enabled when Python is there; on CI always, so that a missing interpreter fails loudly.
    static var enabled: Bool { unavailableReason == nil || isCI }
    static var x402Enabled: Bool { x402UnavailableReason == nil || isCI }

    static func run(_ executable: String, _ arguments: [String]) throws -> Data {
        try runChildProcess(executable, arguments)
    }

    /// Runs the process on a thread of its own: blocking a thread of Swift's cooperative pool
    /// could starve the in-process chain the script talks to.
    static func runOffPool(_ executable: String, _ arguments: [String]) async throws -> Data {
        try await offPool { try run(executable, arguments) }
    }

}

@Suite(.enabled(if: PythonClient.enabled, "Python with eth-account not found (set CI to make this a failure)"))
struct EthAccountDevChainTests {
    struct Output: Decodable {
        var from: String
        var txHash: String
        var expectedHash: String
        var status: Int
        var blockNumber: Int
        var gasUsed: Int
        var estimate: Int
        var logTopics: [String]
        var authorizationNonce: String
        var balanceAfter: String
    }

    @Test func ethAccountPaysThroughTheDevChain() async throws {
        if let reason = PythonClient.unavailableReason { Issue.record("eth-account client unavailable: \(reason)") }
        let python = try #require(PythonClient.python)
        // A timer-mined chain (no automine): the client has to wait for its receipt.
        try await DevChainHarness.with({
            $0.blockTime = .milliseconds(100); $0.automine = false
        }) { h in
            let payerKey = DevChainHarness.keys[6]
            let payee = TestAccounts.addresses[7]
            let payeeBefore = try await h.tokenBalance(payee)
            let arguments = [
                PythonClient.script.path, h.url, DevChainHarness.usdc.checksummed, TestAccounts.privateKeyHex[6], payee.checksummed,
                "250000",
            ]
            let data = try await PythonClient.runOffPool(python, arguments)
            let output = try JSONDecoder().decode(Output.self, from: data)
            #expect(output.from == payerKey.address.checksummed)
            #expect(output.txHash == output.expectedHash)
            #expect(output.status == 1)
            #expect(output.gasUsed == output.estimate)
            #expect(output.logTopics == [AuthorizationUsedEvent.topic.hex, TransferEvent.topic.hex])
            #expect(output.balanceAfter == "999999750000")
            // The balances moved on the chain, and the nonce of the authorization is used.
            #expect(try await h.tokenBalance(payerKey.address) == 1_000_000_000_000 - 250_000)
            #expect(try await h.tokenBalance(payee) == payeeBefore + 250_000)
            let nonce = try Hash32(hex: output.authorizationNonce)
            #expect(try await h.chain.authorizationState(token: DevChainHarness.usdc, authorizer: payerKey.address, nonce: nonce))
            let receipt = try #require(try await h.rpc.transactionReceipt(try Hash32(hex: output.txHash)))
            #expect(receipt.blockNumber == UInt64(output.blockNumber))
        }
    }
}

/// The x402 Python SDK's facilitator (web3.py) verifies and settles a payment on the dev chain.
@Suite(.enabled(if: PythonClient.x402Enabled, "Python with x402[evm] not found (set CI to make this a failure)"))
struct X402FacilitatorDevChainTests {
    struct Output: Decodable {
        var payer: String
        var nonce: String
        var verify: [String: JSONScalar]
        var settle: [String: JSONScalar]
        var replay: [String: JSONScalar]
        var wrongName: [String: JSONScalar]
    }

    enum JSONScalar: Decodable, Equatable {
        case bool(Bool)
        case string(String)
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) {
                self = .bool(flag)
            } else if let text = try? container.decode(String.self) {
                self = .string(text)
            } else {
                self = .other
            }
        }

        var string: String? { if case .string(let s) = self { s } else { nil } }
    }

    @Test func facilitatorVerifiesAndSettles() async throws {
        if let reason = PythonClient.x402UnavailableReason { Issue.record("x402 SDK unavailable: \(reason)") }
        let python = try #require(PythonClient.python)
        try await DevChainHarness.with({
            // Whole seconds: each block is at least a second after its parent, so faster blocks run the
            // chain's clock ahead of the wall clock and expire the client's authorization under load.
            $0.blockTime = .seconds(1); $0.automine = false
        }) { h in
            let payer = TestAccounts.addresses[8]
            let payTo = TestAccounts.addresses[2]
            let facilitator = TestAccounts.addresses[9]
            let payToBefore = try await h.tokenBalance(payTo)
            let arguments = [
                PythonClient.facilitatorScript.path, h.url, DevChainHarness.usdc.checksummed, TestAccounts.privateKeyHex[8],
                TestAccounts.privateKeyHex[9], payTo.checksummed, "10000",
            ]
            let data = try await PythonClient.runOffPool(python, arguments)
            let output = try JSONDecoder().decode(Output.self, from: data)
            #expect(output.verify["isValid"] == .bool(true), "verify: \(output.verify)")
            #expect(output.settle["success"] == .bool(true), "settle: \(output.settle)")
            #expect(output.replay["isValid"] == .bool(false), "replay: \(output.replay)")
            #expect(output.replay["invalidReason"]?.string?.contains("nonce") == true, "replay: \(output.replay)")
            #expect(output.wrongName["isValid"] == .bool(false), "wrong name: \(output.wrongName)")
            // The settlement transaction is on chain: sent by the facilitator, moving the tokens.
            let hash = try Hash32(hex: try #require(output.settle["transaction"]?.string))
            let receipt = try #require(try await h.rpc.transactionReceipt(hash))
            #expect(receipt.succeeded && receipt.from == facilitator)
            #expect(try await h.tokenBalance(payer) == 1_000_000_000_000 - 10_000)
            #expect(try await h.tokenBalance(payTo) == payToBefore + 10_000)
            let nonce = try Hash32(hex: output.nonce)
            #expect(try await h.chain.authorizationState(token: DevChainHarness.usdc, authorizer: payer, nonce: nonce))
        }
    }
}
