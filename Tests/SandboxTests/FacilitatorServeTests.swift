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
        /// A dev chain of its own, `settle serve` with a facilitator file for it (`batch`: with
        /// batch-settlement too) and the FastAPI merchant's script run against it.
        struct Served {
            var python: String
            var settle: String
            var chainID: String
            var rpcURL: String
            var usdc: String
            var keys: [String]
            var tag: String
            var asset: String
            var payTo: String
            var merchant: String
            var token: String
            var directory: URL
            var environment: [String: String]
            var facilitatorURL: String

            /// Runs `script` (in `Interop/`) with the facilitator's URL, token, USDC, payTo, a
            /// payer's key and the chain id, then `arguments`; returns its JSON line.
            func run(_ script: String, _ arguments: [String] = []) async throws -> [String: Any] {
                let output = try await offPool {
                    try runChildProcess(
                        python,
                        [
                            InteropPython.repositoryRoot.appendingPathComponent("Tests/SandboxTests/Interop/\(script)").path,
                            facilitatorURL, token, usdc, payTo, keys[1], chainID,
                        ] + arguments)
                }
                return try #require(
                    try JSONSerialization.jsonObject(with: output) as? [String: Any], "\(String(decoding: output, as: UTF8.self))")
            }

            /// Mines a block, then books what the ERC-20 rail sees paid to payTo.
            func syncRail() async throws {
                let rails = directory.appendingPathComponent("rails.json")
                let rail: [String: Any] = [
                    "rails": [
                        [
                            "id": "fastapi-chain-\(tag)", "kind": "erc20",
                            "settings": [
                                "rpc_url": rpcURL, "network": "eip155:\(chainID)", "tokens": ["\(asset)=\(usdc)=USDC=6"],
                                "addresses": [payTo], "confirmations": 1,
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
            }

            func balance(_ account: String) async throws -> [String: Any] {
                try await FacilitatorServeTests.balance(settle, account, environment)
            }
        }

        static func withServe(batch: Bool, _ body: (Served) async throws -> Void) async throws {
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
            var networkSettings: [String: Any] = [
                "network": network, "rpc_url": rpcURL,
                "tokens": [["address": usdc, "name": "USD Coin", "version": "2", "decimals": 6, "asset": asset]],
            ]
            if batch {
                // The receiver authorizer's key from the environment, as the signer's.
                networkSettings["batch_settlement"] = ["receiver_authorizer_key_env": "SETTLE_X402_RECEIVER_AUTHORIZER_KEY"]
            }
            let configuration: [String: Any] = [
                "networks": [networkSettings],
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
                "SETTLE_X402_RECEIVER_AUTHORIZER_KEY": keys[7], "LOG_LEVEL": "notice",
            ]
            let serve = try SettleProcess(
                settle, ["serve", "--host", "127.0.0.1", "--port", "0", "--x402-facilitator", file.path], environment: environment)
            defer { serve.stop() }
            #expect(try await serve.waitForLog("serving the ledger API"), "\(serve.stderr)")
            let port = try #require(Self.port(in: serve.stderr), "\(serve.stderr)")
            try await body(
                Served(
                    python: python, settle: settle, chainID: chainID, rpcURL: rpcURL, usdc: usdc, keys: keys, tag: tag, asset: asset,
                    payTo: payTo, merchant: merchant, token: token, directory: directory, environment: environment,
                    facilitatorURL: "http://127.0.0.1:\(port)/x402/facilitator"))
        }

        @Test func aFastAPIMerchantIsPaidThroughSettlesFacilitator() async throws {
            try await Self.withServe(batch: false) { served in
                let paid = try await served.run("fastapi_merchant.py")
                #expect(paid["unpaid_status"] as? Int == 402)
                #expect(paid["paid_status"] as? Int == 200, "\(paid)")
                #expect((paid["paid_body"] as? String)?.contains("sunny") == true)
                #expect((paid["payment_response"] as? String)?.isEmpty == false)
                #expect(paid["anonymous_supported_status"] as? Int == 401)

                // Booked: the merchant's revenue, and once the ERC-20 rail has seen the transfer, the
                // clearing account between them is back to zero.
                let revenue = try await served.balance(served.merchant)
                #expect(revenue["posted"] as? String == "1000", "\(revenue)")
                try await served.syncRail()
                let incoming = try await served.balance("evm:\(served.asset):incoming:\(served.payTo)")
                #expect(incoming["posted"] as? String == "0" && incoming["debits_posted"] as? String == "1000", "\(incoming)")

                // The same facilitator behind a usage-priced route: the official upto server scheme
                // asks /supported for the facilitator's address, the official client signs 5000 at
                // most, the handler charges 1234, and that is what Settle settles and books.
                let upto = try await served.run("fastapi_upto_merchant.py", [served.rpcURL])
                #expect(upto["unpaid_status"] as? Int == 402)
                #expect((upto["offer"] as? [String: Any])?["scheme"] as? String == "upto", "\(upto)")
                #expect(upto["paid_status"] as? Int == 200, "\(upto)")
                #expect(upto["overrides_header"] is NSNull, "the middleware strips the handler's header")
                #expect((upto["settled"] as? [String: Any])?["amount"] as? String == "1234", "\(upto)")
                let charged = try await served.balance(served.merchant)
                #expect(charged["posted"] as? String == "2234", "\(charged)")
            }
        }

        /// The official batch-settlement server keeps its channels and charges vouchers itself;
        /// Settle books what its facilitator calls move: the deposit, the charges when the channel
        /// manager claims them, the sweep and the refund (decision 0038).
        @Test func aFastAPIMerchantSellsPrepaidCallsThroughSettlesFacilitator() async throws {
            try await Self.withServe(batch: true) { served in
                // Fewer calls than the deposits cover, so that the refund has a rest to return.
                let calls = 15
                let paid = try await served.run("fastapi_batch_merchant.py", [served.rpcURL, String(calls)])
                #expect(paid["unpaid_status"] as? Int == 402, "\(paid)")
                #expect((paid["statuses"] as? [String: Int])?["200"] == calls, "\(paid)")
                let claimed = try #require(paid["claimed"] as? [String: Any], "\(paid)")
                #expect(claimed["claims"] as? [Int] == [1], "\(paid)")
                #expect((claimed["settle"] as? String)?.hasPrefix("0x") == true, "\(paid)")
                let refund = try #require(paid["refund"] as? [String: Any], "\(paid)")
                #expect(refund["success"] as? Bool == true, "\(paid)")
                let channel = try #require(paid["channel"] as? String, "\(paid)")

                let charged = String(calls * 1000)
                let revenue = try await served.balance(served.merchant)
                #expect(revenue["posted"] as? String == charged, "\(revenue)")
                // The channel's clearing account: the deposit in, the claim and the refund out.
                let clearing = try await served.balance("evm:\(served.asset):batch:\(channel.lowercased())")
                #expect(clearing["posted"] as? String == "0" && clearing["debits_posted"] as? String != "0", "\(clearing)")
                let escrow = try await served.balance("evm:\(served.asset):batch:\(channel.lowercased()):payer")
                #expect(escrow["posted"] as? String == "0", "\(escrow)")
                try await served.syncRail()
                let incoming = try await served.balance("evm:\(served.asset):incoming:\(served.payTo)")
                #expect(incoming["posted"] as? String == "0" && incoming["debits_posted"] as? String == charged, "\(incoming)")
            }
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
