import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A JSON-RPC client of an Ethereum node over HTTP.
///
/// Each call has a timeout per attempt and is retried, with exponential backoff and jitter, when
/// the transport fails, times out, or the node answers HTTP 5xx or 429. A JSON-RPC error object is
/// an answer, not a failure: it is never retried and surfaces as ``EVMError/Code/rpcError``.
///
/// Retrying is safe for every method here, `eth_sendRawTransaction` included: a signed
/// transaction is identified by its hash, so sending it twice cannot pay twice. A retry after a
/// first attempt that did reach the node typically gets `already known`, which
/// ``sendRawTransaction(_:)`` treats as success and answers with the transaction's hash.
public struct EthereumRPC: Sendable {
    /// Timeouts, retries and limits.
    public struct Configuration: Sendable {
        /// How long one attempt may take, connection included.
        public var timeout: Duration
        /// Attempts per call, the first included (at least 1).
        public var maxAttempts: Int
        /// Backoff before the first retry; doubled at each retry up to ``maxBackoff``.
        public var initialBackoff: Duration
        public var maxBackoff: Duration
        /// Larger responses are refused (a wide `eth_getLogs` can be huge).
        public var maxResponseBytes: Int
        /// Extra HTTP headers (e.g. an API key of a hosted node).
        public var headers: [String: String]

        public init(
            timeout: Duration = .seconds(10), maxAttempts: Int = 3, initialBackoff: Duration = .milliseconds(100),
            maxBackoff: Duration = .seconds(2), maxResponseBytes: Int = 64 << 20, headers: [String: String] = [:]
        ) {
            self.timeout = timeout
            self.maxAttempts = max(1, maxAttempts)
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.maxResponseBytes = maxResponseBytes
            self.headers = headers
        }
    }

    public let url: String
    public let configuration: Configuration
    private let client: HTTPClient
    private let logger: Logger

    /// - Parameters:
    ///   - url: The node's HTTP endpoint.
    ///   - httpClient: Shared by default; the caller owns any other client's lifecycle.
    public init(url: String, httpClient: HTTPClient = .shared, configuration: Configuration = .init(), logger: Logger? = nil) {
        self.url = url
        self.client = httpClient
        self.configuration = configuration
        self.logger = logger ?? Logger(label: "settle.evm.rpc")
    }

    // MARK: Methods

    /// `eth_chainId`.
    public func chainID() async throws(EVMError) -> UInt64 {
        try await uint64(try await request("eth_chainId", [], as: Quantity.self))
    }

    /// `eth_blockNumber`: the latest block's number.
    public func blockNumber() async throws(EVMError) -> UInt64 {
        try await uint64(try await request("eth_blockNumber", [], as: Quantity.self))
    }

    /// `eth_getBlockByNumber`; nil when the block does not exist (yet).
    public func block(_ tag: BlockTag, fullTransactions: Bool = false) async throws(EVMError) -> Block? {
        try await request("eth_getBlockByNumber", [tag.rpcValue, .bool(fullTransactions)], as: Block?.self)
    }

    /// `eth_getLogs`.
    public func logs(_ filter: LogFilter) async throws(EVMError) -> [Log] {
        try await request("eth_getLogs", [filter.rpcValue], as: [Log].self)
    }

    /// `eth_call`: the return data. A revert is an ``EVMError/Code/rpcError`` whose
    /// ``EVMError/RPCDetails/revert`` holds the decoded reason when the node returns the data.
    public func call(_ call: CallRequest, block: BlockTag = .latest) async throws(EVMError) -> [UInt8] {
        try await request("eth_call", [call.rpcValue, block.rpcValue], as: HexData.self).bytes
    }

    /// `eth_estimateGas`.
    public func estimateGas(_ call: CallRequest) async throws(EVMError) -> UInt64 {
        try await uint64(try await request("eth_estimateGas", [call.rpcValue], as: Quantity.self))
    }

    /// `eth_sendRawTransaction`: the transaction's hash.
    ///
    /// `already known` (the node has this very transaction, e.g. from an earlier attempt whose
    /// answer was lost) is success: the hash is keccak256 of the raw bytes.
    public func sendRawTransaction(_ raw: [UInt8]) async throws(EVMError) -> Hash32 {
        do throws(EVMError) {
            return try await request("eth_sendRawTransaction", [.data(raw)], as: Hash32.self)
        } catch  where error.code == .rpcError && Self.isAlreadyKnown(error.rpc?.message ?? "") {
            return Keccak256.hash(raw)
        }
    }

    /// `eth_getTransactionReceipt`; nil while the transaction is not mined (or unknown).
    public func transactionReceipt(_ hash: Hash32) async throws(EVMError) -> Receipt? {
        try await request("eth_getTransactionReceipt", [.string(hash.hex)], as: Receipt?.self)
    }

    /// `eth_getTransactionCount`: the next nonce of `address` (use `.pending` to count the mempool).
    public func transactionCount(_ address: Address, block: BlockTag = .pending) async throws(EVMError) -> UInt64 {
        try await uint64(try await request("eth_getTransactionCount", [.string(address.lowercased), block.rpcValue], as: Quantity.self))
    }

    /// `eth_gasPrice`.
    public func gasPrice() async throws(EVMError) -> UInt256 {
        try await request("eth_gasPrice", [], as: Quantity.self).value
    }

    /// `eth_getCode`: empty for an account without code.
    public func code(_ address: Address, block: BlockTag = .latest) async throws(EVMError) -> [UInt8] {
        try await request("eth_getCode", [.string(address.lowercased), block.rpcValue], as: HexData.self).bytes
    }

    /// Many `eth_sendRawTransaction` in one JSON-RPC batch, answered in order (nodes run a batch's
    /// calls in order, so consecutive nonces of one sender are taken in one round trip); `already
    /// known` is success, as in ``sendRawTransaction(_:)``.
    ///
    /// - Throws: ``EVMError`` when the batch itself fails (transport, timeout, not a batch answer).
    public func sendRawTransactions(_ raws: [[UInt8]]) async throws(EVMError) -> [Result<Hash32, EVMError>] {
        let answers = try await batch("eth_sendRawTransaction", raws.map { [.data($0)] }, as: Hash32.self)
        return zip(raws, answers).map { raw, answer in
            if case .failure(let error) = answer, error.code == .rpcError, Self.isAlreadyKnown(error.rpc?.message ?? "") {
                return .success(Keccak256.hash(raw))
            }
            return answer
        }
    }

    /// Many `eth_getTransactionReceipt` in one JSON-RPC batch, answered in order (nil: not mined).
    public func transactionReceipts(_ hashes: [Hash32]) async throws(EVMError) -> [Result<Receipt?, EVMError>] {
        try await batch("eth_getTransactionReceipt", hashes.map { [.string($0.hex)] }, as: Receipt?.self)
    }

    /// Calls `method` once per parameter list in one JSON-RPC batch (one attempt); the answers in
    /// the order of the calls.
    public func batch<Result: Decodable>(_ method: String, _ calls: [[RPCValue]], as: Result.Type = Result.self) async throws(EVMError)
        -> [Swift.Result<Result, EVMError>]
    {
        guard !calls.isEmpty else { return [] }
        let first = Int.random(in: 1...Int(Int32.max))
        let body: Data
        do {
            body = try Self.encoder.encode(
                calls.enumerated().map { JSONRPCRequest(id: first + $0.offset, method: method, params: $0.element) })
        } catch {
            throw EVMError(.rpcInvalidResponse, "cannot encode the \(method) batch: \(error)")
        }
        let data = try await post(body, method: method)
        let envelopes: [JSONRPCResponse<Result>]
        do {
            envelopes = try Self.decoder.decode([JSONRPCResponse<Result>].self, from: data)
        } catch {
            throw EVMError(.rpcInvalidResponse, "\(method): not a JSON-RPC batch response (\(error)): \(String(buffer: data).prefix(200))")
        }
        var byID: [Int: JSONRPCResponse<Result>] = [:]
        for envelope in envelopes {
            switch envelope.id {
            case .number(let number): byID[Int(number)] = envelope
            case .string(let text): if let number = Int(text) { byID[number] = envelope }
            default: continue
            }
        }
        return calls.indices.map { index -> Swift.Result<Result, EVMError> in
            guard let envelope = byID[first + index] else {
                return .failure(EVMError(.rpcInvalidResponse, "\(method): the batch has no answer for call \(index)"))
            }
            if let rpcError = envelope.error { return .failure(rpcError.evmError(method: method)) }
            guard let result = envelope.result else {
                return .failure(EVMError(.rpcInvalidResponse, "\(method): response has neither result nor error"))
            }
            return .success(result)
        }
    }

    static func isAlreadyKnown(_ message: String) -> Bool {
        let lower = message.lowercased()
        return lower.contains("already known") || lower.contains("known transaction") || lower.contains("alreadyknown")
    }

    private func uint64(_ quantity: Quantity) async throws(EVMError) -> UInt64 {
        guard let value = quantity.value.uint64 else {
            throw EVMError(.rpcInvalidResponse, "quantity \(quantity.value) exceeds 64 bits")
        }
        return value
    }

    // MARK: Transport

    /// Calls any method and decodes its `result`.
    public func request<Result: Decodable>(_ method: String, _ params: [RPCValue], as: Result.Type = Result.self) async throws(EVMError)
        -> Result
    {
        let id = Int.random(in: 1...Int(Int32.max))
        let body: Data
        do {
            body = try Self.encoder.encode(JSONRPCRequest(id: id, method: method, params: params))
        } catch {
            throw EVMError(.rpcInvalidResponse, "cannot encode the \(method) request: \(error)")
        }
        var attempt = 1
        var backoff = configuration.initialBackoff
        while true {
            let failure: EVMError
            do throws(EVMError) {
                let data = try await post(body, method: method)
                return try Self.decodeResponse(data, id: id, method: method, as: Result.self)
            } catch let error where error.code == .rpcTimeout || error.code == .rpcTransport {
                failure = error
            }
            guard attempt < configuration.maxAttempts else { throw failure }
            let jittered = backoff / 2 + (backoff / 2) * Double.random(in: 0...1)
            logger.debug(
                "retrying JSON-RPC call",
                metadata: ["method": "\(method)", "attempt": "\(attempt)", "error": "\(failure)", "backoff": "\(jittered)"])
            do {
                try await Task.sleep(for: jittered)
            } catch {
                throw EVMError(.rpcTransport, "\(method) cancelled while backing off after: \(failure.message)")
            }
            attempt += 1
            backoff = min(backoff * 2, configuration.maxBackoff)
        }
    }

    // One HTTP attempt within the configured timeout. AsyncHTTPClient's deadline classifies what
    // went wrong (refused, reset, no answer) but was seen not to fire on a loaded machine: a timer
    // a little later than it bounds the attempt whatever happens, and the loser is cancelled.
    private func post(_ body: Data, method: String) async throws(EVMError) -> ByteBuffer {
        let timeout = configuration.timeout
        let backstop = timeout + max(.milliseconds(250), timeout / 4)
        do {
            return try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
                group.addTask { try await self.attempt(body, method: method) }
                group.addTask {
                    try await Task.sleep(for: backstop)
                    throw EVMError(.rpcTimeout, "\(method): no answer from \(self.url) within \(timeout)")
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw EVMError(.rpcTransport, "\(method): no attempt ran") }
                return first
            }
        } catch let error as EVMError {
            throw error
        } catch is CancellationError {
            throw EVMError(.rpcTransport, "\(method): cancelled")
        } catch {
            throw EVMError(.rpcTransport, "\(method): \(url): \(error)")
        }
    }

    // One HTTP attempt: the response body of a 2xx, or a retryable (timeout/transport) or final error.
    private func attempt(_ body: Data, method: String) async throws(EVMError) -> ByteBuffer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in configuration.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(data: body))
        let timeout = TimeAmount.nanoseconds(Self.nanoseconds(configuration.timeout))
        do {
            let response = try await client.execute(request, timeout: timeout, logger: logger)
            let data = try await response.body.collect(upTo: configuration.maxResponseBytes)
            let status = response.status.code
            if status == 429 || status >= 500 {
                throw EVMError(.rpcTransport, "\(method): HTTP \(status) from \(url)")
            }
            // JSON-RPC servers answer errors with 200 and an error object; some use 4xx with one.
            guard (200..<300).contains(status) || data.readableBytes > 0 else {
                throw EVMError(.rpcInvalidResponse, "\(method): HTTP \(status) from \(url) without a body")
            }
            return data
        } catch let error as EVMError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw EVMError(.rpcTimeout, "\(method): no answer from \(url) within \(configuration.timeout)")
        } catch let error as NIOTooManyBytesError {
            throw EVMError(.rpcInvalidResponse, "\(method): response larger than \(configuration.maxResponseBytes) bytes (\(error))")
        } catch {
            throw EVMError(.rpcTransport, "\(method): \(url): \(error)")
        }
    }

    static func decodeResponse<Result: Decodable>(_ data: ByteBuffer, id: Int, method: String, as: Result.Type) throws(EVMError) -> Result {
        let envelope: JSONRPCResponse<Result>
        do {
            envelope = try decoder.decode(JSONRPCResponse<Result>.self, from: data)
        } catch {
            let text = String(buffer: data).prefix(200)
            throw EVMError(.rpcInvalidResponse, "\(method): not a JSON-RPC response (\(error)): \(text)")
        }
        if let rpcError = envelope.error {
            throw rpcError.evmError(method: method)
        }
        guard envelope.id == .number(Double(id)) || envelope.id == .string(String(id)) else {
            throw EVMError(.rpcInvalidResponse, "\(method): response id \(String(describing: envelope.id)) does not match request id \(id)")
        }
        guard let result = envelope.result else {
            throw EVMError(.rpcInvalidResponse, "\(method): response has neither result nor error")
        }
        return result
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    static let decoder = JSONDecoder()
}

struct JSONRPCRequest: Encodable {
    var jsonrpc = "2.0"
    var id: Int
    var method: String
    var params: [RPCValue]
}

struct JSONRPCResponse<Result: Decodable>: Decodable {
    var id: RPCValue?
    // Wrapped so that a `null` result of an optional type is told apart from a missing one.
    var result: Result?
    var error: JSONRPCErrorObject?

    enum CodingKeys: String, CodingKey { case id, result, error }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(RPCValue.self, forKey: .id)
        error = try c.decodeIfPresent(JSONRPCErrorObject.self, forKey: .error)
        if error == nil, c.contains(.result) {
            result = try c.decode(Result.self, forKey: .result)
        }
    }
}

struct JSONRPCErrorObject: Decodable {
    var code: Int
    var message: String
    var data: RPCValue?

    func evmError(method: String) -> EVMError {
        var dataText: String?
        var revert: RevertReason?
        switch data {
        case .string(let text):
            dataText = text
            if text.hasPrefix("0x"), let bytes = try? Hex.decode(text) { revert = RevertReason(data: bytes) }
        case .none, .null:
            break
        case .some(let other):
            dataText = (try? EthereumRPC.encoder.encode(other)).map { String(decoding: $0, as: UTF8.self) }
        }
        let details = EVMError.RPCDetails(code: code, message: message, data: dataText, revert: revert)
        let suffix = revert.map { ": \($0)" } ?? ""
        return EVMError(.rpcError, "\(method): \(message) (code \(code))\(suffix)", rpc: details)
    }
}
