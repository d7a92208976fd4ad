import DevChain
import EVM
import Foundation
import Ledger
import SettleTesting
import Testing

@testable import X402

/// Runs `Interop/x402_client_pays.py`: the official x402 Python client (PyPI `x402` 2.25) pays a
/// Settle-protected route served by the middleware, settled by the in-process facilitator on the
/// dev chain.
enum X402Python {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/x402_client_pays.py")
    static let packageRoot = InteropPython.repositoryRoot
    static let isCI = InteropPython.isCI

    static let python = InteropPython.interpreter

    static let unavailableReason: String? = {
        guard let python else { return "no Python found ($VIRTUAL_ENV/bin/python or \(packageRoot.path)/.venv/bin/python)" }
        do {
            _ = try runChildProcess(python, ["-c", "import x402, eth_account, requests"])
            return nil
        } catch {
            return "\(python) cannot import x402[evm,requests]: \(error)"
        }
    }()

    /// On CI always enabled, so that a missing client fails loudly.
    static var enabled: Bool { unavailableReason == nil || isCI }

    /// On a thread of its own: the script talks to servers on this process's cooperative pool.
    static func runOffPool(_ executable: String, _ arguments: [String]) async throws -> Data {
        try await offPool { try runChildProcess(executable, arguments) }
    }

}

@Suite(.enabled(if: X402Python.enabled, "the x402 Python client is not installed (set CI to make this a failure)"))
struct PythonClientTests {
    struct Output: Decodable {
        var payer: String
        var unpaidStatus: Int
        var paymentRequired: PaymentRequired?
        var paidStatus: Int
        var paidBody: String
        var cacheControl: String?
        var settleResponse: SettleResponse?
    }

    @Test func officialClientPaysAProtectedRoute() async throws {
        if let reason = X402Python.unavailableReason { Issue.record("x402 Python client unavailable: \(reason)") }
        let python = try #require(X402Python.python)
        try await X402Harness.with { h in
            let url = try await h.startServer()
            let payerKey = try await h.fundedPayer()
            let data = try await X402Python.runOffPool(
                python,
                [
                    X402Python.script.path, url + "/paid", Hex.encode(payerKey.bytes), X402Harness.network,
                    X402Harness.tokenAddress.checksummed,
                    "1000000",
                ])
            let output = try JSONDecoder().decode(Output.self, from: data)
            #expect(output.payer == payerKey.address.checksummed)
            #expect(output.unpaidStatus == 402)
            #expect(output.paymentRequired?.accepts == [h.requirements()])
            #expect(output.paidStatus == 200)
            #expect(output.paidBody == "paid content")
            #expect(output.cacheControl == "private, no-store")
            let settle = try #require(output.settleResponse)
            #expect(settle.success)
            #expect(settle.network == X402Harness.network)
            #expect(settle.payer == payerKey.address.checksummed)
            let hash = try Hash32(hex: settle.transaction)
            let receipt = try #require(try await h.rpc.transactionReceipt(hash))
            #expect(receipt.succeeded)
            #expect(try await h.tokenBalance(h.payTo) == 1000)
            #expect(try await h.tokenBalance(payerKey.address) == 999_000)
            let balance = try await h.merchantBalance()
            #expect(balance.posted == Ledger.UInt256(1000))
            #expect(balance.pending == .zero)
        }
    }
}
