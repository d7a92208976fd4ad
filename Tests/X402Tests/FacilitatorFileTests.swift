import EVM
import Foundation
import SettleTesting
import Testing

@testable import X402

/// `settle serve --x402-facilitator`: every bad file is refused with a typed error before anything
/// is served, and secrets never come from the file itself.
@Suite struct FacilitatorFileTests {
    static let key = "0x" + String(repeating: "11", count: 32)
    static let usdc = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    static let payTo = "0x" + String(repeating: "ab", count: 20)

    static func file(_ edit: (inout [String: Any]) -> Void = { _ in }) -> Data {
        var object: [String: Any] = [
            "networks": [
                [
                    "network": "eip155:31337", "rpc_url": "http://127.0.0.1:8545",
                    "tokens": [["address": usdc, "name": "USD Coin", "version": "2", "decimals": 6, "asset": "usdc-31337"]],
                ]
            ],
            "signer_key_env": "TEST_SIGNER", "merchants": [payTo: "merchant:file-tests"], "access_tokens_env": "TEST_TOKENS",
        ]
        edit(&object)
        return try! JSONSerialization.data(withJSONObject: object)
    }

    static let environment = ["TEST_SIGNER": key, "TEST_TOKENS": "a-token-of-at-least-thirty-two-characters"]

    static func build(_ data: Data, loopback: Bool = false, environment: [String: String] = environment) async throws
        -> Result<X402FacilitatorFile.Built, X402FacilitatorFileError>
    {
        let ledger = try await TestDatabase.ledger()
        do {
            return .success(
                try X402FacilitatorFile.decode(data).build(
                    ledger: ledger, loopback: loopback, environment: environment, logger: TestDatabase.logger))
        } catch {
            return .failure(error)
        }
    }

    @Test func aGoodFileBuildsAFacilitatorWithBearerAccess() async throws {
        let built = try await Self.build(Self.file()).get()
        #expect(built.path == "/x402/facilitator")
        #expect(!built.access.isOpen)
        let supported = try await built.facilitator.supported()
        #expect(supported.kinds.map(\.network) == ["eip155:31337", "eip155:31337"])
        #expect(supported.kinds.map(\.scheme) == ["exact", "upto"])
    }

    static let batch = ["receiver_authorizer_key_env": "TEST_AUTHORIZER"]
    static let batchEnvironment = environment.merging(["TEST_AUTHORIZER": "0x" + String(repeating: "22", count: 32)]) { $1 }

    /// The good file with `batch_settlement` on its network.
    static func batchFile(_ settings: [String: String]) -> Data {
        file { object in
            var network = (object["networks"] as! [[String: Any]])[0]
            network["batch_settlement"] = settings
            object["networks"] = [network]
        }
    }

    @Test func batchSettlementIsServedBesideExactWithItsReceiverAuthorizer() async throws {
        let built = try await Self.build(Self.batchFile(Self.batch), environment: Self.batchEnvironment).get()
        let supported = try await built.facilitator.supported()
        #expect(supported.kinds.map(\.scheme).sorted() == ["batch-settlement", "exact", "upto"])
        let authorizer = try PrivateKey(hex: "0x" + String(repeating: "22", count: 32)).address.checksummed
        let kind = try #require(supported.kinds.first { $0.scheme == "batch-settlement" })
        #expect(kind.network == "eip155:31337")
        #expect(kind.extra?["receiverAuthorizer"]?.stringValue == authorizer)
    }

    @Test func badFilesAreRefusedWithTheirReason() async throws {
        let cases: [(String, Data, [String: String], Bool)] = [
            ("no networks", Self.file { $0["networks"] = [] }, Self.environment, false),
            (
                "not eip155", Self.file { $0["networks"] = [["network": "solana:1", "rpc_url": "http://x", "tokens": []]] },
                Self.environment, false
            ),
            (
                "rpc not http", Self.file { $0["networks"] = [["network": "eip155:1", "rpc_url": "ws://x", "tokens": []]] },
                Self.environment, false
            ),
            (
                "no tokens", Self.file { $0["networks"] = [["network": "eip155:1", "rpc_url": "http://x", "tokens": []]] },
                Self.environment, false
            ),
            ("bad payTo", Self.file { $0["merchants"] = ["nope": "merchant:x"] }, Self.environment, false),
            ("no merchants", Self.file { $0["merchants"] = [String: String]() }, Self.environment, false),
            ("key unset", Self.file(), ["TEST_TOKENS": "a-token-of-at-least-thirty-two-characters"], false),
            ("two key sources", Self.file { $0["signer_key_file"] = "/tmp/key" }, Self.environment, false),
            ("no key source", Self.file { $0["signer_key_env"] = nil }, Self.environment, false),
            ("bad key", Self.file(), ["TEST_SIGNER": "0x12", "TEST_TOKENS": "a-token-of-at-least-thirty-two-characters"], false),
            ("short token", Self.file(), ["TEST_SIGNER": Self.key, "TEST_TOKENS": "short"], false),
            ("open off loopback", Self.file { $0["access"] = "open" }, Self.environment, false),
            ("unknown access", Self.file { $0["access"] = "public" }, Self.environment, true),
            ("not json", Data("{".utf8), Self.environment, false),
            ("batch authorizer unset", Self.batchFile(["receiver_authorizer_key_env": "UNSET"]), Self.environment, false),
            ("batch without key", Self.batchFile([:]), Self.environment, false),
            ("batch token elsewhere", Self.batchFile(Self.batch.merging(["token": Self.payTo]) { $1 }), Self.batchEnvironment, false),
        ]
        for (name, data, environment, loopback) in cases {
            let result = try await Self.build(data, loopback: loopback, environment: environment)
            guard case .failure(let error) = result else {
                Issue.record("\(name): accepted")
                continue
            }
            #expect(error.code == .invalid, "\(name): \(error)")
        }
        // Open is allowed on loopback only, and no tokens means every call is refused, not open.
        #expect(try await Self.build(Self.file { $0["access"] = "open" }, loopback: true).get().access.isOpen)
        let noTokens = try await Self.build(Self.file(), environment: ["TEST_SIGNER": Self.key]).get()
        #expect(!noTokens.access.isOpen)
    }
}
