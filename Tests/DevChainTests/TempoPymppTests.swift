import DevChain
import EVM
import Foundation
import SettleTesting
import Testing

/// The reference implementation judges the chain: pympp 0.16.0's Tempo client pays pympp's own Tempo
/// server, both unmodified, with a Settle Tempo dev chain (served in-process) as their only RPC.
@Suite(.enabled(if: TempoPympp.enabled, "Python with pympp[tempo] not found (set CI to make this a failure)"))
struct TempoPymppTests {
    struct Route: Decodable {
        var status: Int
        var body: String
        var receipt: [String: String]?
        var replayStatus: Int?
        var signedType: String?
        var source: String?
    }

    @Test func pymppClientPaysPymppServerOnTheDevChain() async throws {
        if let reason = TempoPympp.unavailableReason { Issue.record("pympp unavailable: \(reason)") }
        let python = try #require(PythonClient.python)
        // A timer-mined chain, as Tempo's 0.5 s blocks: eth_sendRawTransactionSync has to wait.
        try await DevChainHarness.with({
            $0 = .tempo(port: 0)
            $0.blockTime = .milliseconds(100)
        }) { h in
            let payer = TestAccounts.privateKeys[1]
            let feePayer = TestAccounts.privateKeys[2]
            let merchant = PrivateKey.random().address
            let pathUSD = TokenConfiguration.pathUSD.address
            let arguments = [
                TempoPympp.script.path, h.url, TestAccounts.privateKeyHex[1], TestAccounts.privateKeyHex[2], merchant.checksummed,
            ]
            let data = try await PythonClient.runOffPool(python, arguments)
            let routes = try JSONDecoder().decode([String: Route].self, from: data)
            let paid = try #require(routes["/paid"])
            let sponsored = try #require(routes["/sponsored"])
            for (name, route) in [("/paid", paid), ("/sponsored", sponsored)] {
                #expect(route.status == 200, "\(name): \(route.body)")
                #expect(route.receipt?["status"] == "success" && route.receipt?["method"] == "tempo", "\(name)")
                #expect(route.replayStatus == 403, "\(name): a replayed credential must be refused")
                #expect(route.source == "did:pkh:eip155:42431:\(payer.address.checksummed)", "\(name)")
            }
            #expect(paid.signedType == "0x76")
            #expect(sponsored.signedType == "0x78")
            // Both payments are on chain: the merchant got 0.25 + 0.5, the payer paid its own fee only once.
            #expect(try await TempoChainTests.balance(h, pathUSD, merchant) == 750_000)
            let paidReceipt = try await h.result("eth_getTransactionReceipt", #"["\#(try #require(paid.receipt?["reference"]))"]"#)
            let sponsoredReceipt = try await h.result(
                "eth_getTransactionReceipt", #"["\#(try #require(sponsored.receipt?["reference"]))"]"#)
            #expect(paidReceipt["feePayer"]?.stringValue == payer.address.lowercased)
            #expect(sponsoredReceipt["feePayer"]?.stringValue == feePayer.address.lowercased)
            #expect(sponsoredReceipt["from"]?.stringValue == payer.address.lowercased)
            let payerFee = try TempoChainTests.fee(paidReceipt)
            let sponsorFee = try TempoChainTests.fee(sponsoredReceipt)
            #expect(try await TempoChainTests.balance(h, pathUSD, payer.address) == TempoChainTests.million - 750_000 - payerFee)
            #expect(try await TempoChainTests.balance(h, pathUSD, feePayer.address) == TempoChainTests.million - sponsorFee)
        }
    }
}

enum TempoPympp {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Interop/pympp_tempo_charge.py")

    static let unavailableReason: String? = {
        if let reason = PythonClient.unavailableReason { return reason }
        do {
            _ = try PythonClient.run(PythonClient.python!, ["-c", "import mpp.methods.tempo.server, mpp.client, pytempo"])
            return nil
        } catch {
            return "cannot import pympp[tempo] (pip install -r requirements-test.txt): \(error)"
        }
    }()

    static var enabled: Bool { unavailableReason == nil || InteropPython.isCI }
}
