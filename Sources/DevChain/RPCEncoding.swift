import EVM

/// The JSON shapes of blocks, transactions, receipts and logs, as geth returns them.
enum RPCEncoding {
    /// keccak256(rlp([])): the uncles hash of a block without uncles.
    static let emptyUnclesHash = try! Hash32(hex: "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347")

    static func address(_ address: Address?) -> RPCValue { address.map { .string($0.lowercased) } ?? .null }

    /// A block; a `pending` one has null `hash`, `nonce` and `miner` (as geth serves it) and its
    /// transactions are shown as pending.
    static func block(_ block: DevChainBlock, fullTransactions: Bool, pending: Bool = false) -> RPCValue {
        let transactions: [RPCValue] =
            fullTransactions
            ? block.transactions.enumerated().map { pending ? transaction($1, in: nil, index: nil) : transaction($1, in: block, index: $0) }
            : block.transactions.map { .string($0.hash.hex) }
        let hashes = block.transactions.map(\.hash.bytes)
        let receiptsRoot = Keccak256.hash(block.receipts.flatMap { $0.transactionHash.bytes + [$0.succeeded ? 1 : 0] })
        var object: [String: RPCValue] = [
            "number": .quantity(block.number),
            "hash": .string(block.hash.hex),
            "parentHash": .string(block.parentHash.hex),
            "nonce": .string("0x0000000000000000"),
            "mixHash": .string(Hash32.zero.hex),
            "sha3Uncles": .string(emptyUnclesHash.hex),
            "logsBloom": .data(block.logsBloom),
            "transactionsRoot": .string(Keccak256.hash(hashes.flatMap { $0 }).hex),
            "stateRoot": .string(Keccak256.hash(block.hash.bytes + [0x73]).hex),
            "receiptsRoot": .string(receiptsRoot.hex),
            "miner": address(.zero),
            "difficulty": .quantity(UInt64(0)),
            "totalDifficulty": .quantity(UInt64(0)),
            "extraData": .data([UInt8]()),
            "size": .quantity(UInt64(600 + 120 * block.transactions.count)),
            "gasLimit": .quantity(block.gasLimit),
            "gasUsed": .quantity(block.gasUsed),
            "timestamp": .quantity(block.timestamp),
            "baseFeePerGas": .quantity(block.baseFeePerGas),
            "transactions": .array(transactions),
            "uncles": .array([]),
        ]
        if pending {
            for key in ["hash", "nonce", "miner", "stateRoot", "receiptsRoot"] { object[key] = .null }
        }
        return .object(object)
    }

    /// A transaction; `block` and `index` are nil while it is pending.
    static func transaction(_ tx: DevChainTransaction, in block: DevChainBlock?, index: Int?) -> RPCValue {
        let t = tx.transaction
        let signature = tx.signatureParts
        let gasPrice = block.map { tx.effectiveGasPrice(baseFee: $0.baseFeePerGas) } ?? t.maxFeePerGas
        var object: [String: RPCValue] = [
            "hash": .string(tx.hash.hex),
            "type": .quantity(UInt64(t.type)),
            "chainId": .quantity(t.chainID),
            "nonce": .quantity(t.nonce),
            "from": address(tx.sender),
            "to": address(t.to),
            "value": .quantity(t.value),
            "gas": .quantity(t.gasLimit),
            "gasPrice": .quantity(gasPrice),
            "input": .data(t.data),
            "v": .quantity(signature.v),
            "r": .quantity(signature.r.uint256),
            "s": .quantity(signature.s.uint256),
            "blockHash": block.map { .string($0.hash.hex) } ?? .null,
            "blockNumber": block.map { .quantity($0.number) } ?? .null,
            "transactionIndex": index.map { .quantity(UInt64($0)) } ?? .null,
        ]
        if t.type == TempoTransaction.typeByte {
            object["maxFeePerGas"] = .quantity(t.maxFeePerGas)
            object["maxPriorityFeePerGas"] = .quantity(t.maxPriorityFeePerGas)
            object["yParity"] = .quantity(UInt64(signature.yParity))
            object["nonceKey"] = .quantity(t.nonceKey)
            object["calls"] = .array(
                t.calls.map { call in .object(["to": address(call.to), "value": .quantity(call.value), "input": .data(call.input)]) })
            object["validBefore"] = t.validBefore.map { .quantity($0) } ?? .null
            object["validAfter"] = t.validAfter.map { .quantity($0) } ?? .null
            object["feeToken"] = address(tx.feeToken)
            object["feePayer"] = address(tx.payer)
            object["accessList"] = .array(
                t.accessList.map { entry in
                    .object(["address": address(entry.address), "storageKeys": .array(entry.storageKeys.map { .string($0.hex) })])
                })
        }
        if t.type == EIP1559Transaction.typeByte {
            object["maxFeePerGas"] = .quantity(t.maxFeePerGas)
            object["maxPriorityFeePerGas"] = .quantity(t.maxPriorityFeePerGas)
            object["yParity"] = .quantity(UInt64(signature.yParity))
            object["accessList"] = .array(
                t.accessList.map { entry in
                    .object(["address": address(entry.address), "storageKeys": .array(entry.storageKeys.map { .string($0.hex) })])
                })
        }
        return .object(object)
    }

    /// A receipt. `revertReason` (non-standard, as Besu names it) holds the revert data of a
    /// failed transaction.
    static func receipt(_ receipt: DevChainReceipt, block: DevChainBlock) -> RPCValue {
        let type = block.transactions[Int(receipt.transactionIndex)].transaction.type
        var object: [String: RPCValue] = [
            "transactionHash": .string(receipt.transactionHash.hex),
            "transactionIndex": .quantity(receipt.transactionIndex),
            "blockHash": .string(receipt.blockHash.hex),
            "blockNumber": .quantity(receipt.blockNumber),
            "from": address(receipt.from),
            "to": address(receipt.to),
            "contractAddress": .null,
            "status": .quantity(UInt64(receipt.succeeded ? 1 : 0)),
            "gasUsed": .quantity(receipt.gasUsed),
            "cumulativeGasUsed": .quantity(receipt.cumulativeGasUsed),
            "effectiveGasPrice": .quantity(receipt.effectiveGasPrice),
            "type": .quantity(UInt64(type)),
            "logsBloom": .data(DevChainBlock.bloom(receipt.logs)),
            "logs": .array(
                receipt.logs.enumerated().map { offset, log in
                    self.log(
                        Log(
                            address: log.address, topics: log.topics, data: log.data, blockNumber: block.number, blockHash: block.hash,
                            transactionHash: receipt.transactionHash, transactionIndex: receipt.transactionIndex,
                            logIndex: receipt.firstLogIndex + UInt64(offset)))
                }),
        ]
        if let revertData = receipt.revertData { object["revertReason"] = .data(revertData) }
        if let feeToken = receipt.feeToken { object["feeToken"] = address(feeToken) }
        if let feePayer = receipt.feePayer { object["feePayer"] = address(feePayer) }
        return .object(object)
    }

    static func log(_ log: Log) -> RPCValue {
        .object([
            "address": address(log.address),
            "topics": .array(log.topics.map { .string($0.hex) }),
            "data": .data(log.data),
            "blockNumber": log.blockNumber.map { .quantity($0) } ?? .null,
            "blockHash": log.blockHash.map { .string($0.hex) } ?? .null,
            "transactionHash": log.transactionHash.map { .string($0.hex) } ?? .null,
            "transactionIndex": log.transactionIndex.map { .quantity($0) } ?? .null,
            "logIndex": log.logIndex.map { .quantity($0) } ?? .null,
            "removed": .bool(log.removed),
        ])
    }
}
