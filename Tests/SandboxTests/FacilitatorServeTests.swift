import Foundation
import Ledger
import SettleTesting
import Testing

extension BinaryTests {
    /// `settle serve` as the facilitator of a merchant that runs the official x402 FastAPI
    /// middleware: the official client pays the merchant, Settle verifies, settles and books the
    /// payment, and the ERC-20 rail brings the clearing account back to zero.
    @Suite("settle serve as an x402 facilitator", .timeLimit(.minutes(3)))
    struct FacilitatorServeTests {
        @Test func aFastAPIMerchantIsPaidThroughSettlesFacilitator() async throws {
            guard let python = InteropPython.interpreter, let settle = SettleProcess.binary else {
                if InteropPython.isCI { Issue.record("python (.venv) or the settle binary is missing: run scripts/test") }
                return
            }
            if !InteropPython.isCI, (try? runChildProcess(python, ["-c", "import fastapi, uvicorn, x402.http.middleware.fastapi"])) == nil {
                return  // x402[fastapi] is installed by scripts/test
            }
            // A chain id of its own: the test database is shared, and a ledger asset is unique per
            // network and token, so this test's USDC must not be another suite's.
            let chainID = String(UInt32.random(in: 100_000...4_000_000_000))
            let network = "eip155:\(chainID)"
            let chain = try SettleProcess(settle, ["devchain", "--port", "0", "--chain-id", chainID])
            defer { chain.stop() }
            let chainLine = try #require(try await chain.firstLine(), "the dev chain printed no line: \(chain.stderr)")
            let chainInfo = try #require(try JSONSerialization.jsonObject(with: Data(chainLine.utf8)) as? [String: Any])
            let rpcURL = try #require(chainInfo["rpcURL"] as? String)
            let usdc = try #require((chainInfo["tokens"] as? [[String: Any]])?.first?["address"] as? String)
            let keys = try #require(chainInfo["testKeys"] as? [String])

            let tag = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let asset = "usdc-fastapi-\(tag)"
            let payTo = "0x" + (0..<20).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            let merchant = "merchant:fastapi:\(tag)"
            let token = "fastapi-merchant-token-\(tag)-0123456789abcdef"
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("settle-facilitator-\(tag)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("facilitator.json")
            let configuration: [String: Any] = [
                "networks": [
                    [
                        "network": network, "rpc_url": rpcURL,
                        "tokens": [["address": usdc, "name": "USD Coin", "version": "2", "decimals": 6, "asset": asset]],
                    ]
                ],
                "signer_key_env": "SETTLE_X402_SIGNER_KEY", "merchants": [payTo: merchant],
                "access_tokens_env": "SETTLE_X402_FACILITATOR_TOKENS",
                // A loaded test machine can take longer than the default 10 s to mine.
                "receipt_timeout_seconds": 60,
            ]
            try JSONSerialization.data(withJSONObject: configuration).write(to: file)
            let database = try await TestDatabase.databaseURL()
            let databaseURL =
                "postgres://\(database.username)\(database.password.map { ":" + $0 } ?? "")@\(database.host):\(database.port)/\(database.database)"
            let environment = [
                "DATABASE_URL": databaseURL, "SETTLE_X402_SIGNER_KEY": keys[8], "SETTLE_X402_FACILITATOR_TOKENS": token,
                "LOG_LEVEL": "notice",
            ]
            let serve = try SettleProcess(
                settle, ["serve", "--host", "127.0.0.1", "--port", "0", "--x402-facilitator", file.path], environment: environment)
            defer { serve.stop() }
            #expect(try await serve.waitForLog("serving the ledger API"), "\(serve.stderr)")
            let port = try #require(Self.port(in: serve.stderr), "\(serve.stderr)")
            let facilitatorURL = "http://127.0.0.1:\(port)/x402/facilitator"

            let output = try await offPool {
                try runChildProcess(
                    python,
                    [
                        InteropPython.repositoryRoot.appendingPathComponent("Tests/SandboxTests/Interop/fastapi_merchant.py").path,
                        facilitatorURL, token, usdc, payTo, keys[1], chainID,
                    ])
            }
            let paid = try #require(
                try JSONSerialization.jsonObject(with: output) as? [String: Any], "\(String(decoding: output, as: UTF8.self))")
            #expect(paid["unpaid_status"] as? Int == 402)
            #expect(paid["paid_status"] as? Int == 200, "\(paid)")
            #expect((paid["paid_body"] as? String)?.contains("sunny") == true)
            #expect((paid["payment_response"] as? String)?.isEmpty == false)
            #expect(paid["anonymous_supported_status"] as? Int == 401)

            // Booked: the merchant's revenue, and once the ERC-20 rail has seen the transfer, the
            // clearing account between them is back to zero.
            let revenue = try await Self.balance(settle, merchant, environment)
            #expect(revenue["posted"] as? String == "1000", "\(revenue)")
            let rails = directory.appendingPathComponent("rails.json")
            let rail: [String: Any] = [
                "rails": [
                    [
                        "id": "fastapi-chain-\(tag)", "kind": "erc20",
                        "settings": [
                            "rpc_url": rpcURL, "network": network, "tokens": ["\(asset)=\(usdc)=USDC=6"], "addresses": [payTo],
                            "confirmations": 1,
                        ],
                    ]
                ]
            ]
            try JSONSerialization.data(withJSONObject: rail).write(to: rails)
            // One more block, so the payment has its confirmation.
            _ = try await offPool {
                try runChildProcess(
                    python,
                    [
                        "-c",
                        "import requests, sys; requests.post(sys.argv[1], json={'jsonrpc': '2.0', 'id': 1, 'method': 'evm_mine', 'params': []})",
                        rpcURL,
                    ])
            }
            _ = try await offPool {
                try runChildProcess(settle, ["rails", "sync", "fastapi-chain-\(tag)", "--rails", rails.path], environment: environment)
            }
            let incoming = try await Self.balance(settle, "evm:\(asset):incoming:\(payTo)", environment)
            #expect(incoming["posted"] as? String == "0" && incoming["debits_posted"] as? String == "1000", "\(incoming)")

            // The same facilitator behind a usage-priced route: the official upto server scheme asks
            // /supported for the facilitator's address, the official client signs 5000 at most, the
            // handler charges 1234, and that is what Settle settles and books.
            let uptoOutput = try await offPool {
                try runChildProcess(
                    python,
                    [
                        InteropPython.repositoryRoot.appendingPathComponent("Tests/SandboxTests/Interop/fastapi_upto_merchant.py").path,
                        facilitatorURL, token, usdc, payTo, keys[1], chainID, rpcURL,
                    ])
            }
            let upto = try #require(
                try JSONSerialization.jsonObject(with: uptoOutput) as? [String: Any], "\(String(decoding: uptoOutput, as: UTF8.self))")
            #expect(upto["unpaid_status"] as? Int == 402)
            #expect((upto["offer"] as? [String: Any])?["scheme"] as? String == "upto", "\(upto)")
            #expect(upto["paid_status"] as? Int == 200, "\(upto)")
            #expect(upto["overrides_header"] is NSNull, "the middleware strips the handler's header")
            #expect((upto["settled"] as? [String: Any])?["amount"] as? String == "1234", "\(upto)")
            let charged = try await Self.balance(settle, merchant, environment)
            #expect(charged["posted"] as? String == "2234", "\(charged)")
        }

        static func port(in log: String) -> Int? {
            guard let line = log.split(separator: "\n").first(where: { $0.contains("serving the ledger API") }),
                let range = line.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression)
            else { return nil }
            return Int(line[range].split(separator: ":").last ?? "")
        }

        static func balance(_ settle: String, _ account: String, _ environment: [String: String]) async throws -> [String: Any] {
            let output = try await offPool { try runChildProcess(settle, ["balance", account], environment: environment) }
            return try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        }
    }
}
