import AsyncHTTPClient
import DevChain
import EVM
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle
import SettleTesting
import Testing

/// A dev chain served in-process on 127.0.0.1, on a free port.
struct DevChainHarness {
    let chain: DevChain
    let url: String
    let rpc: EthereumRPC
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    static let usdc = TokenConfiguration.usdc.address
    static let chainID: UInt64 = 31337
    static var domain: TokenDomain { TokenConfiguration.usdc.domain(chainID: chainID) }
    static let keys = TestAccounts.privateKeys

    static func start(_ configure: (inout DevChainConfiguration) -> Void = { _ in }) async throws -> DevChainHarness {
        var configuration = DevChainConfiguration(port: 0, blockTime: .zero, automine: true)
        configure(&configuration)
        let chain = try DevChain(configuration: configuration)
        var logger = Logger(label: "devchain-test")
        logger.logLevel = .warning
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { channel in continuation.yield(DevChainServer.boundPort(channel) ?? 0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw HarnessFailure("the dev chain did not start") }
        let url = "http://127.0.0.1:\(port)"
        let rpc = EthereumRPC(url: url, configuration: .init(timeout: HangGuard.duration, maxAttempts: 1))
        return DevChainHarness(chain: chain, url: url, rpc: rpc, group: group, task: task)
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    /// Runs `body` against a fresh chain and stops it afterwards.
    static func with<T>(
        _ configure: (inout DevChainConfiguration) -> Void = { _ in }, _ body: (DevChainHarness) async throws -> T
    ) async throws -> T {
        let harness = try await start(configure)
        do {
            let result = try await body(harness)
            try await harness.stop()
            return result
        } catch {
            try? await harness.stop()
            throw error
        }
    }

    // MARK: Raw JSON-RPC

    /// POSTs a body and returns the decoded JSON answer (`.null` for an empty body) and the status.
    func post(_ body: String) async throws -> (status: Int, json: RPCValue) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        let bytes = try await response.body.collect(upTo: 16 << 20)
        let json = bytes.readableBytes == 0 ? RPCValue.null : try JSONDecoder().decode(RPCValue.self, from: Data(buffer: bytes))
        return (Int(response.status.code), json)
    }

    /// POSTs a body and returns the answer's text.
    func postText(_ body: String) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        return String(buffer: try await response.body.collect(upTo: 16 << 20))
    }

    /// One call with raw JSON params; the whole response object.
    func raw(_ method: String, _ params: String = "[]", id: Int = 1) async throws -> RPCValue {
        try await post(#"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"#).json
    }

    /// One call that must succeed; its `result`.
    func result(_ method: String, _ params: String = "[]") async throws -> RPCValue {
        let response = try await raw(method, params)
        guard let result = response["result"] else { throw HarnessFailure("\(method) failed: \(response)") }
        return result
    }

    // MARK: Transactions

    /// Signs and sends a type-2 transaction from `key` (nonce from `eth_getTransactionCount` pending).
    @discardableResult
    func send(
        from key: PrivateKey, to: Address, data: [UInt8] = [], value: UInt256 = .zero, gas: UInt64 = 200_000, nonce: UInt64? = nil,
        chainID: UInt64 = DevChainHarness.chainID, maxFee: UInt256 = 3_000_000_000, tip: UInt256 = 1_000_000_000
    ) async throws -> Hash32 {
        var next = nonce ?? 0
        if nonce == nil { next = try await rpc.transactionCount(key.address, block: .pending) }
        let nonce = next
        let transaction = EIP1559Transaction(
            chainID: chainID, nonce: nonce, maxPriorityFeePerGas: tip, maxFeePerGas: maxFee, gasLimit: gas, to: to, value: value, data: data
        )
        return try await rpc.sendRawTransaction(transaction.signed(with: key).rawBytes)
    }

    /// Sends and returns the receipt (automine: mined at once).
    func sendAndWait(from key: PrivateKey, to: Address, data: [UInt8], gas: UInt64 = 200_000) async throws -> Receipt {
        let hash = try await send(from: key, to: to, data: data, gas: gas)
        return try await waitForReceipt(hash)
    }

    func waitForReceipt(_ hash: Hash32, timeout: Duration = .seconds(10)) async throws -> Receipt {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let receipt = try await rpc.transactionReceipt(hash) { return receipt }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HarnessFailure("no receipt for \(hash) within \(timeout)")
    }

    func tokenBalance(_ owner: Address) async throws -> UInt256 {
        let output = try await rpc.call(CallRequest(to: Self.usdc, data: ABI.encodeCall("balanceOf(address)", [.address(owner)])))
        return try #require(try ABI.decode([.uint256], from: output).first?.uint)
    }

    var now: UInt64 { UInt64(Date().timeIntervalSince1970) }
}

/// EIP-3009 calldata.
enum Calldata {
    static let transferVRS = "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)"
    static let transferBytes = "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"
    static let receiveVRS = "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)"
    static let cancelVRS = "cancelAuthorization(address,bytes32,uint8,bytes32,bytes32)"

    static func authorizationHead(_ a: TransferWithAuthorization) -> [ABIValue] {
        [.address(a.from), .address(a.to), .uint(a.value), .uint(a.validAfter), .uint(a.validBefore), .bytes32(a.nonce)]
    }

    static func vrs(_ signature: Signature) -> [ABIValue] {
        [.uint(UInt256(UInt64(signature.v))), .bytes32(signature.r), .bytes32(signature.s)]
    }

    static func transfer(_ a: TransferWithAuthorization, _ signature: Signature) -> [UInt8] {
        ABI.encodeCall(transferVRS, authorizationHead(a) + vrs(signature))
    }

    static func transfer(_ a: TransferWithAuthorization, signatureBytes: [UInt8]) -> [UInt8] {
        ABI.encodeCall(transferBytes, authorizationHead(a) + [.bytes(signatureBytes)])
    }

    static func receive(_ a: ReceiveWithAuthorization, _ signature: Signature) -> [UInt8] {
        ABI.encodeCall(
            receiveVRS,
            [.address(a.from), .address(a.to), .uint(a.value), .uint(a.validAfter), .uint(a.validBefore), .bytes32(a.nonce)]
                + vrs(signature))
    }

    static func cancel(_ a: CancelAuthorization, _ signature: Signature) -> [UInt8] {
        ABI.encodeCall(cancelVRS, [.address(a.authorizer), .bytes32(a.nonce)] + vrs(signature))
    }

    static func randomNonce() -> Hash32 { try! Hash32(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) }) }
}

struct HarnessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension RPCValue {
    subscript(key: String) -> RPCValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    subscript(index: Int) -> RPCValue? {
        if case .array(let array) = self, index < array.count { return array[index] }
        return nil
    }

    var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    var arrayValue: [RPCValue]? { if case .array(let a) = self { a } else { nil } }
    var numberValue: Double? { if case .number(let n) = self { n } else { nil } }
    var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    var isNull: Bool { self == .null }

    /// A hex quantity as UInt256.
    var quantity: UInt256? { stringValue.flatMap { try? UInt256(hex: $0) } }
}
