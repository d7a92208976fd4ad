import EVM
import Foundation
import Testing

@Suite struct EthereumRPCTests {
    static let fast = EthereumRPC.Configuration(
        timeout: .seconds(5), maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(40))

    static let receiptJSON = """
        {"transactionHash":"0x705e168154f07370cffcdc1b61a5688fbde7dcf03437f3cf5c298774ea0b5dcd","transactionIndex":"0x0",
        "blockHash":"0x1111111111111111111111111111111111111111111111111111111111111111","blockNumber":"0x10",
        "from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","to":"0x036cbd53842c5426634e7929541ec2318f3dcf7e","contractAddress":null,
        "status":"0x1","gasUsed":"0x5208","cumulativeGasUsed":"0xa410","effectiveGasPrice":"0x3b9aca07","type":"0x2","logsBloom":"0x00",
        "logs":[{"address":"0x036cbd53842c5426634e7929541ec2318f3dcf7e","topics":[
        "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
        "0x000000000000000000000000857b06519e91e3a54538791bdbb0e22373e36b66",
        "0x000000000000000000000000209693bc6afc0c5328ba36faf03c514ef312287c"],
        "data":"0x0000000000000000000000000000000000000000000000000000000000002710","blockNumber":"0x10",
        "blockHash":"0x1111111111111111111111111111111111111111111111111111111111111111",
        "transactionHash":"0x705e168154f07370cffcdc1b61a5688fbde7dcf03437f3cf5c298774ea0b5dcd","transactionIndex":"0x0","logIndex":"0x3","removed":false}]}
        """

    static let blockJSON = """
        {"number":"0x10","hash":"0x1111111111111111111111111111111111111111111111111111111111111111",
        "parentHash":"0x2222222222222222222222222222222222222222222222222222222222222222","timestamp":"0x67c0a1b9",
        "gasLimit":"0x1c9c380","gasUsed":"0x5208","baseFeePerGas":"0x7","miner":"0x0000000000000000000000000000000000000000",
        "transactions":["0x705e168154f07370cffcdc1b61a5688fbde7dcf03437f3cf5c298774ea0b5dcd"]}
        """

    @Test func typedMethods() async throws {
        try await RPCStubServer.with({ method, _ in
            switch method {
            case "eth_chainId": .result(#""0x7a69""#)
            case "eth_blockNumber": .result(#""0x10""#)
            case "eth_getBlockByNumber": .result(Self.blockJSON)
            case "eth_getLogs": .result("[]")
            case "eth_call": .result(#""0x000000000000000000000000000000000000000000000000000000000000002a""#)
            case "eth_estimateGas": .result(#""0x5208""#)
            case "eth_sendRawTransaction": .result(#""0x705e168154f07370cffcdc1b61a5688fbde7dcf03437f3cf5c298774ea0b5dcd""#)
            case "eth_getTransactionReceipt": .result(Self.receiptJSON)
            case "eth_getTransactionCount": .result(#""0x7""#)
            case "eth_gasPrice": .result(#""0x3b9aca07""#)
            case "eth_getCode": .result(#""0x6080""#)
            default: .error(code: -32601, message: "method not found", data: nil)
            }
        }) { server async throws in
            let rpc = EthereumRPC(url: server.url, configuration: Self.fast)
            #expect(try await rpc.chainID() == 31337)
            #expect(try await rpc.blockNumber() == 16)
            let block = try #require(try await rpc.block(.number(16)))
            #expect(block.number == 16)
            #expect(block.timestamp == 0x67c0_a1b9)
            #expect(block.baseFeePerGas == 7)
            #expect(block.transactionHashes.map(\.hex) == ["0x705e168154f07370cffcdc1b61a5688fbde7dcf03437f3cf5c298774ea0b5dcd"])
            let token = try Address("0x036CbD53842c5426634e7929541eC2318f3dCF7e")
            let filter = LogFilter(
                fromBlock: .number(1), toBlock: .latest, addresses: [token],
                topics: [[TransferEvent.topic], nil, [UInt256(1).word, UInt256(2).word]])
            #expect(try await rpc.logs(filter).isEmpty)
            let call = CallRequest(to: token, data: ABI.encodeCall("balanceOf(address)", [.address(token)]))
            #expect(try await rpc.call(call) == UInt256(42).bigEndianBytes)
            #expect(try await rpc.estimateGas(call) == 21000)
            let hash = try await rpc.sendRawTransaction(Hex.decode(TransactionTests.transferRaw))
            #expect(hash.hex == TransactionTests.transferHash)
            let receipt = try #require(try await rpc.transactionReceipt(hash))
            #expect(receipt.succeeded && receipt.status == 1)
            #expect(receipt.blockNumber == 16 && receipt.gasUsed == 21000 && receipt.cumulativeGasUsed == 42000)
            #expect(receipt.effectiveGasPrice == 1_000_000_007)
            #expect(receipt.type == 2 && receipt.contractAddress == nil && receipt.to == token)
            #expect(receipt.logs.count == 1 && receipt.logs[0].logIndex == 3)
            #expect(try TransferEvent(log: receipt.logs[0]).value == 10000)
            #expect(try await rpc.transactionCount(try Address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")) == 7)
            #expect(try await rpc.gasPrice() == 1_000_000_007)
            #expect(try await rpc.code(token) == [0x60, 0x80])

            // What the node received: quantities, lowercase addresses, topic alternatives and wildcards.
            let params = Dictionary(server.received.map { ($0.method, $0.params) }) { first, _ in first }
            #expect(params["eth_getBlockByNumber"] == #"["0x10",false]"#)
            #expect(
                params["eth_getLogs"]
                    == #"[{"address":"0x036cbd53842c5426634e7929541ec2318f3dcf7e","fromBlock":"0x1","toBlock":"latest","topics":["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",null,["0x0000000000000000000000000000000000000000000000000000000000000001","0x0000000000000000000000000000000000000000000000000000000000000002"]]}]"#
            )
            #expect(
                params["eth_call"]
                    == #"[{"data":"0x70a08231000000000000000000000000036cbd53842c5426634e7929541ec2318f3dcf7e","input":"0x70a08231000000000000000000000000036cbd53842c5426634e7929541ec2318f3dcf7e","to":"0x036cbd53842c5426634e7929541ec2318f3dcf7e"},"latest"]"#
            )
            #expect(params["eth_getTransactionCount"] == #"["0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","pending"]"#)
            #expect(params["eth_sendRawTransaction"] == "[\"\(TransactionTests.transferRaw)\"]")
        }
    }

    @Test func missingReceiptAndBlockAreNil() async throws {
        try await RPCStubServer.with({ _, _ in .result("null") }) { server async throws in
            let rpc = EthereumRPC(url: server.url, configuration: Self.fast)
            #expect(try await rpc.transactionReceipt(.zero) == nil)
            #expect(try await rpc.block(.pending) == nil)
        }
    }

    @Test func revertIsAnRPCErrorWithTheDecodedReason() async throws {
        let revertData = Hex.encode(RevertReason.errorSelector + ABI.encode([.string("FiatTokenV2: invalid signature")]))
        try await RPCStubServer.with({ _, _ in
            .error(code: 3, message: "execution reverted: FiatTokenV2: invalid signature", data: "\"\(revertData)\"")
        }) { server async throws in
            let rpc = EthereumRPC(url: server.url, configuration: Self.fast)
            let error = await #expect(throws: EVMError.self) { try await rpc.call(CallRequest(to: .zero)) }
            #expect(error?.code == .rpcError)
            #expect(error?.rpc?.code == 3)
            #expect(error?.rpc?.message == "execution reverted: FiatTokenV2: invalid signature")
            #expect(error?.rpc?.data == revertData)
            #expect(error?.rpc?.revert == .error("FiatTokenV2: invalid signature"))
            #expect(server.received.count == 1, "a JSON-RPC error is an answer: never retried")
        }
    }

    @Test func nonStringErrorDataIsKeptAsJSON() async throws {
        try await RPCStubServer.with({ _, _ in .error(code: -32000, message: "nonce too low", data: #"{"have":3,"want":5}"#) }) {
            server async throws in
            let error = await #expect(throws: EVMError.self) {
                try await EthereumRPC(url: server.url, configuration: Self.fast).blockNumber()
            }
            #expect(error?.rpc?.data == #"{"have":3,"want":5}"#)
            #expect(error?.rpc?.revert == nil)
        }
    }

    @Test func retriesServerErrorsThenSucceeds() async throws {
        try await RPCStubServer.with({ _, attempt in
            attempt < 2 ? .http(status: attempt == 0 ? 503 : 429, body: "busy") : .result(#""0x1""#)
        }) { server async throws in
            #expect(try await EthereumRPC(url: server.url, configuration: Self.fast).blockNumber() == 1)
            #expect(server.received.count == 3)
        }
    }

    @Test func givesUpAfterMaxAttempts() async throws {
        try await RPCStubServer.with({ _, _ in .http(status: 502, body: "bad gateway") }) { server async throws in
            var configuration = Self.fast
            configuration.maxAttempts = 2
            let error = await #expect(throws: EVMError.self) {
                try await EthereumRPC(url: server.url, configuration: configuration).chainID()
            }
            #expect(error?.code == .rpcTransport)
            #expect(server.received.count == 2)
        }
    }

    @Test func timesOutPerAttempt() async throws {
        try await RPCStubServer.with({ _, _ in .delayed(milliseconds: 30_000, .result(#""0x1""#)) }) { server async throws in
            var configuration = Self.fast
            configuration.timeout = .seconds(2)
            configuration.maxAttempts = 2
            // Each answer comes after 30 s: only an attempt cut at its timeout gives an error here.
            // (The timeout is generous so that a loaded machine still delivers both attempts.)
            let error = await #expect(throws: EVMError.self) {
                try await EthereumRPC(url: server.url, configuration: configuration).blockNumber()
            }
            #expect(error?.code == .rpcTimeout)
            #expect(server.received.count == 2)
        }
    }

    @Test func timeoutThenSuccessIsRetried() async throws {
        try await RPCStubServer.with({ _, attempt in attempt == 0 ? .delayed(milliseconds: 30_000, .result(#""0x2""#)) : .result(#""0x3""#) })
        { server async throws in
            var configuration = Self.fast
            configuration.timeout = .seconds(2)
            #expect(try await EthereumRPC(url: server.url, configuration: configuration).blockNumber() == 3)
        }
    }

    @Test func connectionRefusedIsATransportError() async throws {
        // Port 1 (tcpmux) is never served here. A port freed by closing a server of our own could be
        // handed to another suite's server at once, which would accept and never answer.
        let url = "http://127.0.0.1:1"
        var configuration = Self.fast
        configuration.maxAttempts = 2
        let error = await #expect(throws: EVMError.self) { try await EthereumRPC(url: url, configuration: configuration).chainID() }
        #expect(error?.code == .rpcTransport)
    }

    @Test func invalidResponsesAreNotRetried() async throws {
        for reply in [
            RPCStubServer.Reply.http(status: 200, body: "<html>"), .result(#""not hex""#),
            .http(status: 200, body: #"{"jsonrpc":"2.0","id":1}"#),
        ] {
            try await RPCStubServer.with({ _, _ in reply }) { server async throws in
                let error = await #expect(throws: EVMError.self) {
                    try await EthereumRPC(url: server.url, configuration: Self.fast).gasPrice()
                }
                #expect(error?.code == .rpcInvalidResponse)
                #expect(server.received.count == 1)
            }
        }
    }

    @Test func alreadyKnownIsSuccessForARawTransaction() async throws {
        try await RPCStubServer.with({ _, _ in .error(code: -32000, message: "already known", data: nil) }) { server async throws in
            let raw = try Hex.decode(TransactionTests.transferRaw)
            let hash = try await EthereumRPC(url: server.url, configuration: Self.fast).sendRawTransaction(raw)
            #expect(hash.hex == TransactionTests.transferHash)
        }
    }
}
