import EVM
import Foundation

/// The JSON-RPC 2.0 front of a ``DevChain``: standard Ethereum methods, the `evm_`/`anvil_`
/// test helpers, and the dev chain's own `devchain_` methods (fault injection and faucet).
///
/// Transport-independent: ``DevChainServer`` serves it over HTTP, and it can be called in-process.
public struct DevChainRPC: Sendable {
    public let chain: DevChain

    public init(chain: DevChain) {
        self.chain = chain
    }

    /// The version string of `web3_clientVersion`.
    public static let clientVersion = "settle-devchain/1.0"

    /// Answers a request body: one call or a batch. Nil when there is nothing to answer (only
    /// notifications, i.e. calls without an `id`).
    public func handle(_ body: some Collection<UInt8>) async -> [UInt8]? {
        let request: RPCValue
        do {
            request = try JSONDecoder().decode(RPCValue.self, from: Data(body))
        } catch {
            return Self.encode(Self.response(id: .null, error: JSONRPCError(code: JSONRPCError.parseError, message: "parse error")))
        }
        switch request {
        case .array(let calls):
            guard !calls.isEmpty else {
                return Self.encode(
                    Self.response(id: .null, error: JSONRPCError(code: JSONRPCError.invalidRequest, message: "empty batch")))
            }
            var responses: [RPCValue] = []
            for call in calls {
                if let response = await handleCall(call) { responses.append(response) }
            }
            return responses.isEmpty ? nil : Self.encode(.array(responses))
        default:
            return await handleCall(request).map(Self.encode)
        }
    }

    /// One call: its response, or nil for a notification.
    func handleCall(_ call: RPCValue) async -> RPCValue? {
        guard case .object(let object) = call else {
            return Self.response(id: .null, error: JSONRPCError(code: JSONRPCError.invalidRequest, message: "invalid request"))
        }
        let id = object["id"]
        switch id {
        case .none, .null, .number, .string: break
        default: return Self.response(id: .null, error: JSONRPCError(code: JSONRPCError.invalidRequest, message: "invalid id"))
        }
        guard case .string(let method) = object["method"] else {
            return Self.response(id: id ?? .null, error: JSONRPCError(code: JSONRPCError.invalidRequest, message: "missing method"))
        }
        if let version = object["jsonrpc"], version != .string("2.0") {
            return Self.response(
                id: id ?? .null, error: JSONRPCError(code: JSONRPCError.invalidRequest, message: "jsonrpc must be \"2.0\""))
        }
        let outcome: Result<RPCValue, JSONRPCError>
        do throws(JSONRPCError) {
            let params = try RPCParams(object["params"])
            outcome = .success(try await dispatch(method, params))
        } catch {
            outcome = .failure(error)
        }
        guard let id else { return nil }  // a notification: executed, not answered.
        switch outcome {
        case .success(let result): return .object(["jsonrpc": .string("2.0"), "id": id, "result": result])
        case .failure(let error): return Self.response(id: id, error: error)
        }
    }

    static func response(id: RPCValue, error: JSONRPCError) -> RPCValue {
        .object(["jsonrpc": .string("2.0"), "id": id, "error": error.json])
    }

    static func encode(_ value: RPCValue) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? Array(encoder.encode(value)))
            ?? Array(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error"}}"#.utf8)
    }

    // MARK: Dispatch

    private func chainCall<T>(_ body: () async throws(DevChainError) -> T) async throws(JSONRPCError) -> T {
        do {
            return try await body()
        } catch {
            throw JSONRPCError(error)
        }
    }

    /// Resolves a block parameter to a tag the chain understands.
    private func tag(_ selector: BlockSelector) async throws(JSONRPCError) -> BlockTag {
        switch selector {
        case .tag(let tag): return tag
        case .hash(let hash):
            guard let block = await chain.block(hash: hash) else {
                throw JSONRPCError(code: JSONRPCError.serverError, message: "header for hash not found")
            }
            return .number(block.number)
        }
    }

    func dispatch(_ method: String, _ p: RPCParams) async throws(JSONRPCError) -> RPCValue {
        let chain = self.chain
        switch method {
        // Node and network.
        case "web3_clientVersion": return .string(Self.clientVersion)
        case "web3_sha3": return .string(Keccak256.hash(try p.data(0, "data")).hex)
        case "net_version": return .string(String(chain.chainID))
        case "net_listening": return .bool(true)
        case "net_peerCount": return .quantity(UInt64(0))
        case "eth_chainId": return .quantity(chain.chainID)
        case "eth_syncing": return .bool(false)
        case "eth_mining": return .bool(true)
        case "eth_accounts": return .array([])
        case "eth_coinbase": return RPCEncoding.address(.zero)

        // Blocks.
        case "eth_blockNumber": return .quantity(await chain.blockNumber)
        case "eth_getBlockByNumber":
            let selector = try p.block(0, default: .tag(.latest))
            let full = try p.bool(1, "full transactions", default: false)
            if case .tag(.pending) = selector {
                return RPCEncoding.block(await chain.pendingBlock, fullTransactions: full, pending: true)
            }
            guard let number = try? await chain.resolve(try await tag(selector)) else { return .null }
            guard let block = await chain.block(number: number) else { return .null }
            return RPCEncoding.block(block, fullTransactions: full)
        case "eth_getBlockByHash":
            let hash = try p.hash(0, "block hash")
            let full = try p.bool(1, "full transactions", default: false)
            guard let block = await chain.block(hash: hash) else { return .null }
            return RPCEncoding.block(block, fullTransactions: full)
        case "eth_getBlockTransactionCountByNumber":
            let selector = try p.block(0)
            guard let number = try? await chain.resolve(try await tag(selector)), let block = await chain.block(number: number)
            else { return .null }
            return .quantity(UInt64(block.transactions.count))
        case "eth_getBlockTransactionCountByHash":
            guard let block = await chain.block(hash: try p.hash(0, "block hash")) else { return .null }
            return .quantity(UInt64(block.transactions.count))
        case "eth_getTransactionByBlockNumberAndIndex", "eth_getTransactionByBlockHashAndIndex":
            var block: DevChainBlock?
            if method.hasSuffix("HashAndIndex") {
                block = await chain.block(hash: try p.hash(0, "block hash"))
            } else {
                let selector = try p.block(0)
                if let number = try? await chain.resolve(try await tag(selector)) { block = await chain.block(number: number) }
            }
            return try await transactionAt(block, p)

        // Accounts and state.
        case "eth_getBalance":
            let address = try p.address(0)
            let tag = try await tag(try p.block(1))
            return .quantity(try await chainCall { () async throws(DevChainError) in try await chain.balance(of: address, at: tag) })
        case "eth_getTransactionCount":
            let address = try p.address(0)
            let tag = try await tag(try p.block(1))
            return .quantity(
                try await chainCall { () async throws(DevChainError) in try await chain.transactionCount(of: address, at: tag) })
        case "eth_getCode":
            let address = try p.address(0)
            _ = try await tag(try p.block(1))
            return .data(await chain.hasCode(address) ? DevChainServer.tokenCodeMarker : [])

        // Fees.
        case "eth_gasPrice":
            let (price, _) = chain.configuration.baseFeePerGas.addingReportingOverflow(chain.configuration.suggestedPriorityFee)
            return .quantity(price)
        case "eth_maxPriorityFeePerGas": return .quantity(chain.configuration.suggestedPriorityFee)
        case "eth_feeHistory": return try await feeHistory(p)

        // Calls.
        case "eth_call":
            let call = try p.callObject(0)
            let tag = try await tag(try p.block(1))
            guard let to = call.to else {
                throw JSONRPCError(
                    code: JSONRPCError.serverError, message: "contract creation is not supported: the dev chain's tokens are built in")
            }
            let output = try await chainCall { () async throws(DevChainError) in
                try await chain.call(from: call.from, to: to, data: call.data, value: call.value, gas: call.gas, at: tag)
            }
            return .data(output)
        case "eth_estimateGas":
            let call = try p.callObject(0)
            let tag = try await tag(try p.block(1))
            return .quantity(
                try await chainCall { () async throws(DevChainError) in
                    try await chain.estimateGas(from: call.from, to: call.to, data: call.data, value: call.value, gas: call.gas, at: tag)
                })

        // Transactions.
        case "eth_sendRawTransaction":
            let raw = try p.data(0, "raw transaction")
            let hash = try await chainCall { () async throws(DevChainError) in try await chain.sendRawTransaction(raw) }
            return .string(hash.hex)
        case "eth_sendRawTransactionSync": return try await sendRawTransactionSync(p)
        case "eth_getTransactionByHash":
            guard let found = await chain.transaction(try p.hash(0, "transaction hash")) else { return .null }
            return RPCEncoding.transaction(found.transaction, in: found.block, index: found.index)
        case "eth_getTransactionReceipt":
            let hash = try p.hash(0, "transaction hash")
            guard let receipt = await chain.receipt(hash), let block = await chain.block(number: receipt.blockNumber) else { return .null }
            return RPCEncoding.receipt(receipt, block: block)
        case "eth_getLogs": return try await getLogs(p)

        // Mining and time (hardhat/anvil/ganache helpers).
        case "evm_mine":
            let timestamp = try p[0].map { v throws(JSONRPCError) in try RPCParams.uint64(v, "timestamp") }
            _ = try await chainCall { () async throws(DevChainError) in try await chain.mine(blocks: 1, timestamp: timestamp) }
            return .string("0x0")
        case "anvil_mine", "hardhat_mine":
            let count = try p[0].map { v throws(JSONRPCError) in try RPCParams.uint64(v, "block count") } ?? 1
            let interval = try p[1].map { v throws(JSONRPCError) in try RPCParams.uint64(v, "interval") }
            guard count >= 1, count <= 100_000 else { throw JSONRPCError.invalidParams("block count must be from 1 to 100000") }
            try await chainCall { () async throws(DevChainError) in
                try await chain.mine(blocks: 1)
                for _ in 1..<count {
                    if let interval {
                        try await chain.mine(blocks: 1, timestamp: await chain.latestBlock.timestamp + max(1, interval))
                    } else {
                        try await chain.mine(blocks: 1)
                    }
                }
            }
            return .null
        case "evm_setAutomine":
            await chain.setAutomine(try p.bool(0, "enabled", default: true))
            return .bool(true)
        case "evm_increaseTime":
            let seconds = try p.uint64(0, "seconds")
            guard seconds <= UInt64(Int64.max) else { throw JSONRPCError.invalidParams("seconds out of range") }
            return .quantity(UInt64(max(0, await chain.increaseTime(by: Int64(seconds)))))
        case "evm_setNextBlockTimestamp":
            let timestamp = try p.uint64(0, "timestamp")
            try await chainCall { () async throws(DevChainError) in try await chain.setNextBlockTimestamp(timestamp) }
            return .null
        case "evm_snapshot", "devchain_snapshot": return .quantity(await chain.snapshot())
        case "evm_revert", "devchain_revert": return .bool(await chain.revert(to: try p.uint64(0, "snapshot id")))

        // The dev chain's own methods.
        case "devchain_reorg": return try await reorg(p)
        case "devchain_dropTransaction": return .bool(await chain.dropTransaction(try p.hash(0, "transaction hash")))
        case "devchain_delayReceipts":
            await chain.delayReceipts(blocks: try p.uint64(0, "blocks"))
            return .bool(true)
        case "devchain_fund": return try await fund(p)
        case "devchain_mempool": return .array(await chain.pendingTransactions.map { .string($0.hash.hex) })
        case "devchain_info": return DevChainServer.info(chain.configuration, rpcURL: nil)

        // Tempo's own methods.
        case "tempo_fundAddress" where chain.configuration.network == .tempo: return try await tempoFund(p)
        case "tempo_simulateV1" where chain.configuration.network == .tempo: return try await tempoSimulate(p)
        default:
            throw JSONRPCError(code: JSONRPCError.methodNotFound, message: "the method \(method) does not exist/is not available")
        }
    }

    /// EIP-7966: sends, then waits for the receipt up to `timeoutMs` (default 30 s) of wall time.
    private func sendRawTransactionSync(_ p: RPCParams) async throws(JSONRPCError) -> RPCValue {
        let raw = try p.data(0, "raw transaction")
        let timeout = try p[1].map { v throws(JSONRPCError) in try RPCParams.uint64(v, "timeout") } ?? 30_000
        let hash = try await chainCall { () async throws(DevChainError) in try await chain.sendRawTransaction(raw) }
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(clamping: timeout)))
        while true {
            if let receipt = await chain.receipt(hash), let block = await chain.block(number: receipt.blockNumber) {
                return RPCEncoding.receipt(receipt, block: block)
            }
            guard ContinuousClock.now < deadline else {
                throw JSONRPCError(
                    DevChainError(.syncTimeout, "the transaction was added to the mempool but wasn't processed within \(timeout) ms"))
            }
            // The next block is at most a block time away; polling at a fraction of it answers promptly.
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// `tempo_fundAddress [address]`: the testnet faucet, a million of every token.
    private func tempoFund(_ p: RPCParams) async throws(JSONRPCError) -> RPCValue {
        let address = try p.address(0)
        var hashes: [RPCValue] = []
        for token in chain.tokens {
            let amount = UInt256(1_000_000).multipliedReportingOverflow(by: 1_000_000).partialValue
            try await chainCall { () async throws(DevChainError) in
                try await chain.fund(address, ether: .zero, token: token.address, tokenAmount: amount)
            }
            // Faucet credits are not transactions here; a stable pseudo-hash names each one.
            let number = await chain.blockNumber
            hashes.append(.string(Keccak256.hash(address.bytes + token.address.bytes + Array(number.description.utf8)).hex))
        }
        return .array(hashes)
    }

    /// `tempo_simulateV1`: runs each call object of `blockStateCalls[0].calls` (its `calls` then its
    /// top-level `to`/`data`, as pympp builds it) atomically on the latest state and reports status,
    /// gas, logs and revert data without keeping anything.
    private func tempoSimulate(_ p: RPCParams) async throws(JSONRPCError) -> RPCValue {
        guard case .object(let payload) = try p.required(0, "payload"), case .array(let blocks)? = payload["blockStateCalls"],
            case .object(let first)? = blocks.first, case .array(let requests)? = first["calls"]
        else { throw JSONRPCError.invalidParams("blockStateCalls[0].calls must be an array of transaction requests") }
        var results: [RPCValue] = []
        for request in requests {
            guard case .object(let object) = request else { throw JSONRPCError.invalidParams("a transaction request must be an object") }
            let from = try object["from"].map { v throws(JSONRPCError) in try RPCParams.address(v, "from") } ?? .zero
            var calls: [TempoCall] = []
            if case .array(let leading)? = object["calls"] {
                for call in leading { calls.append(try Self.simulatedCall(call)) }
            }
            if object["to"] != nil { calls.append(try Self.simulatedCall(request)) }
            let outcome = await chain.simulateBatch(from: from, calls: calls)
            var result: [String: RPCValue] = [
                "status": .quantity(UInt64(outcome.succeeded ? 1 : 0)), "gasUsed": .quantity(outcome.gas),
                "returnData": .data(outcome.output),
                "logs": .array(
                    outcome.logs.map { log in
                        .object([
                            "address": RPCEncoding.address(log.address), "topics": .array(log.topics.map { .string($0.hex) }),
                            "data": .data(log.data),
                        ])
                    }),
            ]
            if !outcome.succeeded {
                let reason = RevertReason(data: outcome.output)
                result["error"] = .object([
                    "code": .number(Double(JSONRPCError.executionRevertedCode)),
                    "message": .string(outcome.output.isEmpty ? "execution reverted" : "execution reverted: \(reason)"),
                    "data": .data(outcome.output),
                ])
            }
            results.append(.object(result))
        }
        let pending = await chain.pendingBlock
        return .object([
            "blocks": .array([
                .object(["number": .quantity(pending.number), "timestamp": .quantity(pending.timestamp), "calls": .array(results)])
            ])
        ])
    }

    private static func simulatedCall(_ value: RPCValue) throws(JSONRPCError) -> TempoCall {
        guard case .object(let object) = value else { throw JSONRPCError.invalidParams("a call must be an object") }
        let to = try RPCParams.address(object["to"] ?? .null, "to")
        let input = try (object["data"] ?? object["input"]).map { v throws(JSONRPCError) in try RPCParams.data(v, "data") } ?? []
        let amount = try object["value"].map { v throws(JSONRPCError) in try RPCParams.quantity(v, "value") } ?? .zero
        return TempoCall(to: to, value: amount, input: input)
    }

    private func transactionAt(_ block: DevChainBlock?, _ p: RPCParams) async throws(JSONRPCError) -> RPCValue {
        let index = try p.uint64(1, "index")
        guard let block, index < UInt64(block.transactions.count) else { return .null }
        return RPCEncoding.transaction(block.transactions[Int(index)], in: block, index: Int(index))
    }

    private func feeHistory(_ p: RPCParams) async throws(JSONRPCError) -> RPCValue {
        let requested = try p.uint64(0, "block count")
        let newestTag = try await tag(try p.block(1))
        let newest = try await chainCall { () async throws(DevChainError) in try await chain.resolve(newestTag) }
        var percentiles: [Double] = []
        if let raw = p[2] {
            guard case .array(let values) = raw else { throw JSONRPCError.invalidParams("reward percentiles must be an array") }
            for value in values {
                guard case .number(let percentile) = value, (0...100).contains(percentile), percentile >= (percentiles.last ?? 0) else {
                    throw JSONRPCError.invalidParams("reward percentiles must be increasing numbers from 0 to 100")
                }
                percentiles.append(percentile)
            }
        }
        let count = min(requested, 1_024, newest + 1)
        let oldest = newest + 1 - count
        var baseFees: [RPCValue] = []
        var ratios: [RPCValue] = []
        var rewards: [RPCValue] = []
        for number in oldest..<(oldest + count) {
            guard let block = await chain.block(number: number) else { continue }
            baseFees.append(.quantity(block.baseFeePerGas))
            ratios.append(.number(Double(block.gasUsed) / Double(max(1, block.gasLimit))))
            let tips = block.transactions.map { tx in
                let effective = tx.effectiveGasPrice(baseFee: block.baseFeePerGas)
                return effective - block.baseFeePerGas
            }.sorted()
            rewards.append(
                .array(
                    percentiles.map { percentile in
                        guard !tips.isEmpty else { return .quantity(UInt64(0)) }
                        let index = min(tips.count - 1, Int((percentile / 100 * Double(tips.count)).rounded(.down)))
                        return .quantity(tips[index])
                    }))
        }
        baseFees.append(.quantity(chain.configuration.baseFeePerGas))  // the next block's
        var object: [String: RPCValue] = [
            "oldestBlock": .quantity(oldest), "baseFeePerGas": .array(baseFees), "gasUsedRatio": .array(ratios),
        ]
        if p[2] != nil { object["reward"] = .array(rewards) }
        return .object(object)
    }

    private func getLogs(_ p: RPCParams) async throws(JSONRPCError) -> RPCValue {
        guard case .object(let object) = try p.required(0, "filter") else {
            throw JSONRPCError.invalidParams("the filter must be an object")
        }
        func field(_ key: String) -> RPCValue? {
            if case .null = object[key] { return nil }
            return object[key]
        }
        var filter = LogFilter()
        var blockHash: Hash32?
        if let hash = field("blockHash") {
            guard field("fromBlock") == nil, field("toBlock") == nil else {
                throw JSONRPCError.invalidParams("cannot specify both blockHash and fromBlock/toBlock")
            }
            blockHash = try RPCParams.hash(hash, "blockHash")
        }
        if let from = field("fromBlock") { filter.fromBlock = try await tag(try RPCParams.block(from)) }
        if let to = field("toBlock") { filter.toBlock = try await tag(try RPCParams.block(to)) }
        switch field("address") {
        case .none: break
        case .array(let values): filter.addresses = try values.map { v throws(JSONRPCError) in try RPCParams.address(v, "address") }
        case .some(let value): filter.addresses = [try RPCParams.address(value, "address")]
        }
        switch field("topics") {
        case .none: break
        case .array(let positions):
            guard positions.count <= 4 else { throw JSONRPCError.invalidParams("too many topics: at most 4 positions") }
            filter.topics = try positions.map { position throws(JSONRPCError) -> [Hash32]? in
                switch position {
                case .null: return nil
                case .array(let alternatives):
                    return try alternatives.map { v throws(JSONRPCError) in try RPCParams.hash(v, "topic") }
                default: return [try RPCParams.hash(position, "topic")]
                }
            }
        default: throw JSONRPCError.invalidParams("topics must be an array")
        }
        let logs = try await chainCall { () async throws(DevChainError) in try await chain.logs(filter, blockHash: blockHash) }
        return .array(logs.map(RPCEncoding.log))
    }

    /// `devchain_reorg`: `[depth]`, `[depth, "requeue" | "drop"]`, or
    /// `[{"depth": n | "fromBlock": b, "requeue": bool, "replacementBlocks": m}]` (`fromBlock`: that
    /// block and all after it leave the chain, whatever the head is when the call runs).
    private func reorg(_ p: RPCParams) async throws(JSONRPCError) -> RPCValue {
        var depth: UInt64?
        var fromBlock: UInt64?
        var requeue = true
        var replacements: UInt64?
        if case .object(let object) = try p.required(0, "depth") {
            switch (object["depth"], object["fromBlock"]) {
            case (let value?, nil): depth = try RPCParams.uint64(value, "depth")
            case (nil, let value?): fromBlock = try RPCParams.uint64(value, "fromBlock")
            default: throw JSONRPCError.invalidParams("give either depth or fromBlock")
            }
            if let flag = object["requeue"] {
                guard case .bool(let value) = flag else { throw JSONRPCError.invalidParams("requeue must be a boolean") }
                requeue = value
            }
            if let count = object["replacementBlocks"] { replacements = try RPCParams.uint64(count, "replacementBlocks") }
        } else {
            depth = try p.uint64(0, "depth")
            switch p[1] {
            case .none, .string("requeue"): requeue = true
            case .string("drop"): requeue = false
            case .bool(let flag): requeue = flag
            default: throw JSONRPCError.invalidParams("the second argument must be \"requeue\" or \"drop\"")
            }
            if let count = p[2] { replacements = try RPCParams.uint64(count, "replacementBlocks") }
        }
        guard (depth ?? 0) <= 1_000_000, (replacements ?? 0) <= 100_000 else {
            throw JSONRPCError.invalidParams("depth or replacement count too large")
        }
        let result = try await chainCall { () async throws(DevChainError) in
            if let fromBlock {
                try await chain.reorg(fromBlock: fromBlock, requeue: requeue, replacementBlocks: replacements.map { Int($0) })
            } else {
                try await chain.reorg(depth: Int(depth ?? 0), requeue: requeue, replacementBlocks: replacements.map { Int($0) })
            }
        }
        return .object([
            "removedBlocks": .array(result.removedBlocks.map { .string($0.hex) }),
            "transactions": .array(result.transactions.map { .string($0.hex) }),
            "requeued": .bool(result.requeued),
            "newBlocks": .array(result.newBlocks.map { .string($0.hex) }),
        ])
    }

    /// `devchain_fund`: `[address, weiQuantity, token?, tokenAmountQuantity?]` or
    /// `[{"address", "ether", "token", "tokenAmount"}]`.
    private func fund(_ p: RPCParams) async throws(JSONRPCError) -> RPCValue {
        let address: Address
        let ether: UInt256
        var token: Address?
        var amount = UInt256.zero
        if case .object(let object) = try p.required(0, "address") {
            address = try RPCParams.address(object["address"] ?? .null, "address")
            ether = try object["ether"].map { v throws(JSONRPCError) in try RPCParams.quantity(v, "ether") } ?? .zero
            token = try object["token"].map { v throws(JSONRPCError) in try RPCParams.address(v, "token") }
            amount = try object["tokenAmount"].map { v throws(JSONRPCError) in try RPCParams.quantity(v, "tokenAmount") } ?? .zero
        } else {
            address = try p.address(0)
            ether = try p[1].map { v throws(JSONRPCError) in try RPCParams.quantity(v, "ether") } ?? .zero
            token = try p[2].map { v throws(JSONRPCError) in try RPCParams.address(v, "token") }
            amount = try p[3].map { v throws(JSONRPCError) in try RPCParams.quantity(v, "tokenAmount") } ?? .zero
        }
        if token == nil && !amount.isZero { throw JSONRPCError.invalidParams("tokenAmount needs a token") }
        try await chainCall { () async throws(DevChainError) in
            try await chain.fund(address, ether: ether, token: token, tokenAmount: amount)
        }
        return .bool(true)
    }
}
