import DevChain
import EVM
import Foundation
import Testing

@Suite struct GenesisTests {
    @Test func chainIdentityAndFundedAccounts() async throws {
        try await DevChainHarness.with { h in
            #expect(try await h.rpc.chainID() == 31337)
            #expect(try await h.result("net_version") == .string("31337"))
            #expect(try await h.result("web3_clientVersion").stringValue?.hasPrefix("settle-devchain/") == true)
            #expect(try await h.rpc.blockNumber() == 0)
            // Key #0 is anvil's well-known account; the other nine are derived from their keys.
            #expect(TestAccounts.addresses[0] == (try Address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")))
            #expect(TestAccounts.addresses[1] == (try Address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")))
            #expect(Set(TestAccounts.addresses).count == 10)
            for address in TestAccounts.addresses {
                let wei = try await h.result("eth_getBalance", #"["\#(address.lowercased)", "latest"]"#).quantity
                #expect(wei == DevChainConfiguration.tenThousandEther)
                #expect(try await h.tokenBalance(address) == 1_000_000_000_000)
            }
            let stranger = PrivateKey.random().address
            #expect(try await h.result("eth_getBalance", #"["\#(stranger.lowercased)", "latest"]"#) == .string("0x0"))
            #expect(try await h.rpc.transactionCount(stranger) == 0)
        }
    }

    @Test func tokenViewsAndDomainSeparator() async throws {
        try await DevChainHarness.with { h in
            func view(_ signature: String, _ type: ABIType) async throws -> ABIValue {
                let output = try await h.rpc.call(CallRequest(to: DevChainHarness.usdc, data: ABI.encodeCall(signature, [])))
                return try #require(try ABI.decode([type], from: output).first)
            }
            #expect(try await view("name()", .string) == .string("USD Coin"))
            #expect(try await view("symbol()", .string) == .string("USDC"))
            #expect(try await view("version()", .string) == .string("2"))
            #expect(try await view("decimals()", .uint8) == .uint(6))
            #expect(try await view("totalSupply()", .uint256) == .uint(10_000_000_000_000))
            // x402.md §6: the local domain separator (USD Coin, 2, 31337, 0x5FbD…0aa3).
            let separator = try await view("DOMAIN_SEPARATOR()", .bytes32)
            #expect(separator.bytes32?.hex == "0xfc557a58e1177dd0b729c40130003009d1ffed5a502b494889e2711c7726dd52")
            #expect(DevChainHarness.domain.separator == separator.bytes32)
            let typeHash = try await view("TRANSFER_WITH_AUTHORIZATION_TYPEHASH()", .bytes32)
            #expect(typeHash.bytes32 == TransferWithAuthorization.typeHash)
            // The facilitator checks that the asset has code; accounts have none.
            #expect(try await h.rpc.code(DevChainHarness.usdc).isEmpty == false)
            #expect(try await h.rpc.code(TestAccounts.addresses[0]).isEmpty)
            // An unknown selector reverts without data, like Solidity's dispatcher.
            do {
                _ = try await h.rpc.call(CallRequest(to: DevChainHarness.usdc, data: ABI.selector("mint(address,uint256)")))
                Issue.record("an unknown selector must revert")
            } catch let error as EVMError {
                #expect(error.rpc?.code == 3)
                #expect(error.rpc?.revert == .empty)
            }
        }
    }

    @Test func jsonRPCEnvelopeErrorsAndBatches() async throws {
        try await DevChainHarness.with { h in
            let parse = try await h.post("{not json")
            #expect(parse.json["error"]?["code"]?.numberValue == -32700)
            #expect(parse.json["id"] == .null)
            let unknown = try await h.raw("eth_frobnicate")
            #expect(unknown["error"]?["code"]?.numberValue == -32601)
            #expect(unknown["id"]?.numberValue == 1)
            let badParams = try await h.raw("eth_getBalance", #"["0x1234", "latest"]"#)
            #expect(badParams["error"]?["code"]?.numberValue == -32602)
            let notAnObject = try await h.post("42")
            #expect(notAnObject.json["error"]?["code"]?.numberValue == -32600)
            let emptyBatch = try await h.post("[]")
            #expect(emptyBatch.json["error"]?["code"]?.numberValue == -32600)

            // A batch: answers in order, string ids echoed, notifications (no id) unanswered but executed.
            let batch = try await h.post(
                #"""
                [{"jsonrpc":"2.0","id":"a","method":"eth_chainId","params":[]},
                 {"jsonrpc":"2.0","method":"evm_mine","params":[]},
                 {"jsonrpc":"2.0","id":7,"method":"eth_blockNumber"},
                 {"jsonrpc":"2.0","id":8,"method":"nope","params":[]}]
                """#)
            let answers = try #require(batch.json.arrayValue)
            #expect(answers.count == 3)
            #expect(answers[0]["id"] == .string("a") && answers[0]["result"] == .string("0x7a69"))
            #expect(answers[1]["id"]?.numberValue == 7 && answers[1]["result"] == .string("0x1"))
            #expect(answers[2]["error"]?["code"]?.numberValue == -32601)
            // Integer ids come back as integers.
            let text = try await h.postText(#"{"jsonrpc":"2.0","id":42,"method":"eth_chainId"}"#)
            #expect(text.contains(#""id":42"#) && text.contains(#""result":"0x7a69""#))
            let onlyNotification = try await h.post(#"{"jsonrpc":"2.0","method":"evm_mine","params":[]}"#)
            #expect(onlyNotification.status == 204)
            #expect(try await h.rpc.blockNumber() == 2)
        }
    }

    @Test func blocksByTagNumberAndHash() async throws {
        try await DevChainHarness.with { h in
            _ = try await h.result("anvil_mine", #"["0x3", "0x5"]"#)
            #expect(try await h.rpc.blockNumber() == 3)
            let b1 = try #require(try await h.rpc.block(.number(1)))
            let b2 = try #require(try await h.rpc.block(.number(2)))
            let latest = try #require(try await h.rpc.block(.latest))
            #expect(b2.parentHash == b1.hash)
            #expect(latest.number == 3 && latest.parentHash == b2.hash)
            #expect(latest.timestamp == b2.timestamp + 5)  // anvil_mine's interval
            #expect(try await h.rpc.block(.earliest)?.number == 0)
            #expect(try await h.rpc.block(.finalized)?.number == 3)
            #expect(try await h.rpc.block(.number(99)) == nil)
            let byHash = try await h.result("eth_getBlockByHash", #"["\#(b1.hash.hex)", false]"#)
            #expect(byHash["number"] == .string("0x1"))
            #expect(try await h.result("eth_getBlockByHash", #"["\#(Hash32.zero.hex)", false]"#) == .null)
            let pending = try await h.result("eth_getBlockByNumber", #"["pending", false]"#)
            #expect(pending["number"] == .string("0x4") && pending["hash"] == .null && pending["parentHash"] == .string(latest.hash.hex))
            let fees = try await h.result("eth_feeHistory", #"["0x2", "latest", [50]]"#)
            #expect(fees["oldestBlock"] == .string("0x2"))
            #expect(fees["baseFeePerGas"]?.arrayValue?.count == 3)
            #expect(fees["reward"]?.arrayValue?.count == 2)
            #expect(try await h.rpc.gasPrice() == 2_000_000_000)
        }
    }

    @Test func timerMinesBlocks() async throws {
        try await DevChainHarness.with({
            $0.blockTime = .milliseconds(40); $0.automine = false
        }) { h in
            let deadline = ContinuousClock.now + .seconds(5)
            while try await h.rpc.blockNumber() < 3 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try await h.rpc.blockNumber() >= 3)
            // Without automine a transaction waits in the mempool for the timer.
            let hash = try await h.send(from: DevChainHarness.keys[0], to: TestAccounts.addresses[1], value: 1, gas: 21_000)
            let receipt = try await h.waitForReceipt(hash)
            #expect(receipt.succeeded)
            #expect(receipt.gasUsed == 21_000)
        }
    }

    @Test func infoAndConfigurationValidation() async throws {
        try await DevChainHarness.with { h in
            let info = try await h.result("devchain_info")
            #expect(info["chainId"]?.numberValue == 31337)
            #expect(info["tokens"]?[0]?["address"] == .string("0x5FbDB2315678afecb367f032d93F642f64180aa3"))
            #expect(info["tokens"]?[0]?["eip712Name"] == .string("USD Coin"))
            #expect(info["testKeys"]?.arrayValue?.count == 10)
        }
        #expect(throws: DevChainError.self) { try DevChain(configuration: .init(chainID: 0)) }
        let usdc = TokenConfiguration.usdc
        #expect(throws: DevChainError.self) { try DevChain(configuration: .init(tokens: [usdc, usdc])) }
        // A configured second token with its own domain.
        let eurc = TokenConfiguration(
            address: try Address("0x" + String(repeating: "e", count: 40)), name: "EURC", symbol: "EURC", version: "1")
        let chain = try DevChain(configuration: .init(chainID: 8453, tokens: [usdc, eurc], fundedAccounts: [TestAccounts.addresses[2]]))
        #expect(try await chain.tokenBalance(token: eurc.address, owner: TestAccounts.addresses[2]) == eurc.initialBalance)
        #expect(try await chain.tokenBalance(token: eurc.address, owner: TestAccounts.addresses[0]) == 0)
        let separator = try await chain.call(to: usdc.address, data: ABI.encodeCall("DOMAIN_SEPARATOR()", []))
        // The separator follows the chain id: the EVM module's computation for chain 8453.
        #expect(separator == usdc.domain(chainID: 8453).separator.bytes)
    }
}
