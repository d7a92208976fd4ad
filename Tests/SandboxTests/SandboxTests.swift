import Foundation
import SettleTesting
import Testing

/// The tests that run the `settle` binary, one at a time: sandboxes share their card mock's data
/// directory under `SETTLE_HOME`, and a sandbox waits for another that holds it.
@Suite(.serialized) enum BinaryTests {}

extension BinaryTests {
    /// `settle sandbox` as a user runs it: the binary, its first JSON line, and the official x402
    /// Python client paying its route; the ledger shows the payment, final once the chain rail has
    /// seen it confirmed.
    @Suite("settle sandbox", .timeLimit(.minutes(2)))
    struct SandboxTests {
        static let packageRoot = InteropPython.repositoryRoot
        static let isCI = InteropPython.isCI

        static let python = InteropPython.interpreter

        @Test func anAgentPaysTheSampleRouteWithTheOfficialClient() async throws {
            guard let python = Self.python, let settle = SettleProcess.binary else {
                if Self.isCI { Issue.record("python (.venv) or the settle binary is missing: run scripts/test") }
                return
            }
            let sandbox = Process()
            sandbox.executableURL = URL(fileURLWithPath: settle)
            sandbox.arguments = [
                "sandbox", "--port", "0", "--api-port", "0", "--chain-port", "0", "--tempo-port", "0", "--cardmock-port", "0",
                "--confirmations", "5",
            ]
            let output = Pipe()
            sandbox.standardOutput = output
            sandbox.standardError = FileHandle.nullDevice
            try sandbox.run()
            // On a failure the sandbox is told to stop and reaped later; on success the test waits
            // for it, off the cooperative pool.
            defer { if sandbox.isRunning { sandbox.terminate() } }
            let reader = output.fileHandleForReading
            let line = try #require(try await offPool { try Self.firstLine(of: reader) }, "the sandbox printed no JSON line")
            let info = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["server", "paidURL", "facilitatorURL", "networks", "testKeys", "cardmockURL"] {
                #expect(info[key] != nil, "the sandbox's line lacks \(key)")
            }
            let tempo = (info["networks"] as? [[String: Any]])?.first { $0["kind"] as? String == "tempo" }
            #expect(tempo?["caip2"] as? String == "eip155:42431")
            #expect((tempo?["sessionEscrow"] as? [String: String])?["v2"]?.lowercased() == "0x4d50500000000000000000000000000000000000")

            let agent = Process()
            agent.executableURL = URL(fileURLWithPath: python)
            agent.arguments = [Self.packageRoot.appendingPathComponent("Tests/SandboxTests/Interop/pay_sandbox.py").path]
            let input = Pipe()
            let result = Pipe()
            agent.standardInput = input
            agent.standardOutput = result
            try agent.run()
            input.fileHandleForWriting.write(Data((line + "\n").utf8))
            try input.fileHandleForWriting.close()
            let answer = try await offPool {
                let answer = result.fileHandleForReading.readDataToEndOfFile()
                agent.waitUntilExit()
                return answer
            }
            #expect(agent.terminationStatus == 0)
            let paid = try #require(
                try JSONSerialization.jsonObject(with: answer) as? [String: Any], "\(String(decoding: answer, as: UTF8.self))")
            #expect(paid["unpaid_status"] as? Int == 402)
            #expect(paid["payment_required"] as? Bool == true)
            #expect(paid["paid_status"] as? Int == 200)
            #expect((paid["paid_body"] as? String)?.contains("joke") == true)
            #expect((paid["payment_response"] as? String)?.isEmpty == false)
            // The sandbox keeps its books across runs: the payment is what this run added.
            #expect(paid["merchant_delta"] as? Int == 1000)
            // The chain rail booked the transfer final against the x402 settlement: the clearing
            // account between them is back to zero.
            let incoming = paid["incoming"] as? [String: Any]
            #expect(incoming?["posted"] as? String == paid["clearing_before"] as? String)
            #expect(paid["incoming_delta"] as? Int == 1000)

            // Reorganized before final: the chain rail had seen (held) the payment, voided that hold
            // when its block left the chain, held it again in the block that re-mined it, then posted
            // it, and the clearing account is back to zero.
            #expect(paid["reorg_paid_status"] as? Int == 200)
            #expect(paid["reorg_seen_before_reorg"] as? Int == 1000)
            #expect(paid["reorg_remined"] as? Bool == true)
            #expect(paid["reorg_wallet_bookings"] as? [String] == ["pending", "void_pending", "pending", "post_pending"])
            #expect((paid["reorg_incoming"] as? [String: Any])?["posted"] as? String == paid["clearing_before"] as? String)
            #expect(paid["reorg_incoming_delta"] as? Int == 1000)

            // The same route, paid by an MPP agent with pympp's Tempo client (the fee sponsored).
            let mppLine = try await offPool {
                try runChildProcess(
                    python,
                    [
                        Self.packageRoot.appendingPathComponent(
                            "Tests/SandboxTests/Interop/pay_sandbox_mpp.py"
                        ).path
                    ], input: Data((line + "\n").utf8))
            }
            let mpp = try #require(
                try JSONSerialization.jsonObject(with: mppLine) as? [String: Any], "\(String(decoding: mppLine, as: UTF8.self))")
            #expect(mpp["unpaid_status"] as? Int == 402)
            #expect(mpp["payment_required"] as? Bool == true, "the same 402 offers x402")
            #expect((mpp["www_authenticate"] as? String)?.contains(#"method="tempo", intent="charge""#) == true)
            for offer in [#"intent="session""#, #"method="stripe""#, #"method="evm""#] {
                #expect((mpp["www_authenticate"] as? String)?.contains(offer) == true, "the 402 offers \(offer)")
            }
            #expect(mpp["paid_status"] as? Int == 200)
            #expect((mpp["paid_body"] as? String)?.contains("joke") == true)
            #expect((mpp["receipt"] as? [String: Any])?["method"] as? String == "tempo")
            #expect(mpp["signed_type"] as? String == "0x78")
            #expect(mpp["replay_status"] as? Int == 403)
            #expect(mpp["merchant_delta"] as? Int == 1000)
            // The Tempo rail booked the transfer against the MPP revenue: the clearing account is zero.
            #expect((mpp["incoming"] as? [String: Any])?["posted"] as? String == mpp["clearing_before"] as? String)
            #expect(mpp["incoming_delta"] as? Int == 1000)

            // The same joke as an MCP tool, paid by pympp's MCP client.
            let mcpArguments = [
                Self.packageRoot.appendingPathComponent("Tests/MPPTempoTests/Interop/pympp_mcp_pays_settle.py").path,
                try #require(info["mcpURL"] as? String), try #require(tempo?["rpcURL"] as? String), "42431",
                try #require((info["testKeys"] as? [String])?[3]), "joke",
            ]
            let mcpOutput = try await offPool { try runChildProcess(python, mcpArguments) }
            let mcp = try #require(
                try JSONSerialization.jsonObject(with: mcpOutput) as? [String: Any], "\(String(decoding: mcpOutput, as: UTF8.self))")
            #expect(((mcp["paid"] as? [String: Any])?["text"] as? [String])?.first?.contains("ledger") == true, "\(mcp)")
            #expect((mcp["replay"] as? [String: Any])?["code"] as? Int == -32043, "\(mcp)")

            // The same route in x402's prepaid mode: the official batch-settlement client deposits
            // once, pays each call with a voucher, resyncs a second client, and has the rest refunded.
            let evm = (info["networks"] as? [[String: Any]])?.first { $0["kind"] as? String == "erc20" }
            let batchArguments = [
                Self.packageRoot.appendingPathComponent("Tests/X402Tests/Interop/x402_batch_client_pays.py").path,
                try #require(info["paidURL"] as? String), try #require((info["testKeys"] as? [String])?[5]),
                try #require(evm?["rpcURL"] as? String), "20",
            ]
            let batchOutput = try await offPool { try runChildProcess(python, batchArguments) }
            let batch = try #require(
                try JSONSerialization.jsonObject(with: batchOutput) as? [String: Any], "\(String(decoding: batchOutput, as: UTF8.self))")
            #expect((batch["failures"] as? [Any])?.isEmpty == true, "\(batch["failures"] ?? "")")
            #expect((batch["statuses"] as? [String: Int])?["200"] == 20, "\(batch["statuses"] ?? "")")
            #expect(batch["resyncedStatus"] as? Int == 200)
            #expect(batch["refund"] != nil, "\(batch)")
            let kinds = (info["offers"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } ?? []
            #expect(
                kinds.first == "exact" && kinds.dropFirst().first == "batch-settlement", "the sandbox lists the prepaid offer: \(kinds)")

            // The usage-priced route: the official upto client signs ten calls' price as a maximum
            // (Permit2), the answer charges 100 units per token it used (13), and exactly that moves
            // on chain and is booked, then cleared by the chain rail.
            let tokensOutput = try await offPool {
                try runChildProcess(
                    python, [Self.packageRoot.appendingPathComponent("Tests/SandboxTests/Interop/pay_sandbox_tokens.py").path],
                    input: Data((line + "\n").utf8))
            }
            let tokens = try #require(
                try JSONSerialization.jsonObject(with: tokensOutput) as? [String: Any], "\(String(decoding: tokensOutput, as: UTF8.self))")
            #expect(tokens["unpaid_status"] as? Int == 402)
            #expect(tokens["paid_status"] as? Int == 200, "\(tokens)")
            #expect((tokens["paid_body"] as? [String: Any])?["charged"] as? String == "1300")
            #expect((tokens["settled"] as? [String: Any])?["amount"] as? String == "1300")
            #expect(tokens["pay_to_delta"] as? Int == 1300)
            #expect(tokens["merchant_delta"] as? Int == 1300)
            // The chain rail booked the transfer final: the clearing account is back where it was.
            #expect(tokens["incoming_delta"] as? Int == 1300)
            #expect(tokens["clearing_back"] as? Bool == true, "\(tokens)")
            #expect((info["tokensOffer"] as? [String: Any])?["amount"] as? String == "10000")

            // The same route with a card (pympp's stripe client, its shared payment token minted on the
            // card mock) and with an EIP-3009 authorization (pympp's evm client).
            func pay(_ script: String, _ config: [String: Any]) async throws -> [String: Any] {
                let input = try JSONSerialization.data(withJSONObject: config)
                let path = Self.packageRoot.appendingPathComponent(script).path
                let output = try await offPool { try runChildProcess(python, [path], input: input) }
                return try #require(
                    try JSONSerialization.jsonObject(with: output) as? [String: Any], "\(String(decoding: output, as: UTF8.self))")
            }
            let paidURL = try #require(info["paidURL"] as? String)
            let card = try await pay(
                "Tests/MPPStripeTests/Interop/pympp_stripe_pays.py",
                [
                    "url": paidURL, "mock": try #require(info["cardmockURL"] as? String), "apiKey": "sk_test_sandbox_agent",
                    "paymentMethod": "pm_card_visa", "networkId": "profile_settle_sandbox",
                ])
            #expect(card["status"] as? Int == 200, "\(card)")
            #expect((card["receipt"] as? [String: Any])?["method"] as? String == "stripe")
            #expect(card["replayStatus"] as? Int == 403)
            let erc20 = try #require((info["networks"] as? [[String: Any]])?.first)
            let evmPaid = try await pay(
                "Tests/MPPEVMTests/Interop/pympp_evm_pays.py",
                [
                    "url": paidURL, "privateKey": try #require((info["testKeys"] as? [String])?[4]),
                    "currency": try #require((erc20["tokens"] as? [[String: Any]])?.first?["address"] as? String), "chainId": 31337,
                    "decimals": 6, "name": "USD Coin", "version": "2",
                ])
            #expect(evmPaid["status"] as? Int == 200, "\(evmPaid)")
            #expect((evmPaid["receipt"] as? [String: Any])?["method"] as? String == "evm")
            #expect(evmPaid["replayStatus"] as? Int == 403)
            sandbox.terminate()
            try await offPool { sandbox.waitUntilExit() }
        }

        /// Reads the first line of `handle`, waiting up to 90 s.
        static func firstLine(of handle: FileHandle) throws -> String? {
            var buffer = Data()
            let deadline = Date().addingTimeInterval(90)
            while Date() < deadline {
                let chunk = handle.availableData
                if chunk.isEmpty { return nil }
                buffer.append(chunk)
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) { return String(decoding: buffer[..<newline], as: UTF8.self) }
            }
            return nil
        }
    }
}
