import EVM
import Foundation

/// The session escrows as the server reads and drives them over JSON-RPC: channel state, the
/// clients' open and top-up transactions broadcast with `eth_sendRawTransactionSync`, and the
/// server's own `settle` and `close`.
public struct SessionChain: Sendable {
    public let rpc: EthereumRPC
    let chainID: UInt64
    let token: Address
    let key: PrivateKey

    /// - Parameters:
    ///   - key: signs `settle` and `close` (the payee, or a v2 channel's operator); pays their fees in `token`.
    public init(rpc: EthereumRPC, chainID: UInt64, token: Address, key: PrivateKey) {
        self.rpc = rpc
        self.chainID = chainID
        self.token = token
        self.key = key
    }

    /// A channel's state on its escrow.
    public struct State: Sendable, Hashable {
        public var descriptor: TempoChannelDescriptor
        public var deposit: UInt256
        public var settled: UInt256
        public var closeRequestedAt: UInt64
        public var finalized: Bool
    }

    static let descriptorTuple = "(address,address,address,address,bytes32,address,bytes32)"

    /// Reads channel `id`; nil when the escrow has no such channel (v2 deletes closed channels).
    /// - Parameter descriptor: a v2 channel's descriptor (v2 state is read by descriptor; v1 by id).
    public func channel(
        _ id: Hash32, version: TempoChannelEscrow, escrow: Address, descriptor: TempoChannelDescriptor?
    ) async throws(EVMError) -> State? {
        switch version {
        case .v1:
            let output = try await rpc.call(CallRequest(to: escrow, data: ABI.encodeCall("getChannel(bytes32)", [.bytes32(id)])))
            let f = try ABI.decode(
                [.address, .address, .address, .address, .uint(bits: 128), .uint(bits: 128), .uint(bits: 64), .bool], from: output)
            guard let payer = f[0].address, payer != .zero else { return nil }
            return State(
                descriptor: TempoChannelDescriptor(
                    payer: payer, payee: f[1].address!, operator: .zero, token: f[2].address!, salt: .zero,
                    authorizedSigner: f[3].address!, expiringNonceHash: .zero),
                deposit: f[4].uint!, settled: f[5].uint!, closeRequestedAt: f[6].uint!.uint64 ?? .max, finalized: f[7].bool!)
        case .v2:
            guard let descriptor, descriptor.channelID(escrow: escrow, chainID: chainID) == id else { return nil }
            let output = try await rpc.call(
                CallRequest(to: escrow, data: ABI.encodeCall("getChannelState(bytes32)", [.bytes32(id)])))
            let f = try ABI.decode([.uint(bits: 96), .uint(bits: 96), .uint(bits: 32)], from: output)
            guard let deposit = f[1].uint, !deposit.isZero else { return nil }
            return State(
                descriptor: descriptor, deposit: deposit, settled: f[0].uint!, closeRequestedAt: f[2].uint!.uint64 ?? .max, finalized: false
            )
        }
    }

    /// Broadcasts a signed transaction and waits for its receipt (`eth_sendRawTransactionSync`).
    public func broadcast(_ raw: [UInt8]) async throws(EVMError) -> Receipt {
        try await rpc.request("eth_sendRawTransactionSync", [.data(raw), .number(30_000)], as: Receipt.self)
    }

    /// `settle` the channel with voucher (`cumulative`, `signature`).
    public func settle(_ channel: SessionChannel, cumulative: UInt256, signature: [UInt8]) async throws(EVMError) -> Receipt {
        let data: [UInt8]
        switch channel.version {
        case .v1:
            data = ABI.encodeCall("settle(bytes32,uint128,bytes)", [.bytes32(channel.id), .uint(cumulative), .bytes(signature)])
        case .v2:
            data = ABI.encodeCall(
                "settle(\(Self.descriptorTuple),uint96,bytes)", channel.descriptor.abiValues + [.uint(cumulative), .bytes(signature)])
        }
        return try await send(to: channel.escrow, data)
    }

    /// Cooperative `close`: v2 captures `capture`; v1 captures the voucher (or what is settled when more).
    public func close(
        _ channel: SessionChannel, cumulative: UInt256, capture: UInt256, signature: [UInt8]
    ) async throws(EVMError) -> Receipt {
        let data: [UInt8]
        switch channel.version {
        case .v1:
            data = ABI.encodeCall("close(bytes32,uint128,bytes)", [.bytes32(channel.id), .uint(cumulative), .bytes(signature)])
        case .v2:
            data = ABI.encodeCall(
                "close(\(Self.descriptorTuple),uint96,uint96,bytes)",
                channel.descriptor.abiValues + [.uint(cumulative), .uint(capture), .bytes(signature)])
        }
        return try await send(to: channel.escrow, data)
    }

    /// `CloseRequested` logs of `escrows` in blocks `from...to`: the channel ids.
    public func closeRequests(escrows: [TempoChannelEscrow: Address], from: UInt64, to: UInt64) async throws(EVMError) -> [Hash32] {
        var ids: [Hash32] = []
        for (version, escrow) in escrows.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let logs = try await rpc.logs(
                LogFilter(
                    fromBlock: .number(from), toBlock: .number(to), addresses: [escrow], topics: [[version.topic(of: .closeRequested)]]))
            ids += logs.compactMap { $0.topics.count > 1 ? $0.topics[1] : nil }
        }
        return ids
    }

    /// Signs and sends one call on a nonce lane of its own (the server's calls never wait on each
    /// other's nonces, and no validity window ties them to the wall clock).
    private func send(to: Address, _ data: [UInt8]) async throws(EVMError) -> Receipt {
        let transaction = TempoTransaction(
            chainID: chainID, maxPriorityFeePerGas: 0, maxFeePerGas: 20_000_000_000, gasLimit: 1_000_000,
            calls: [TempoCall(to: to, input: data)], nonceKey: UInt256(UInt64.random(in: 1...UInt64.max)), nonce: 0, feeToken: token)
        let receipt = try await broadcast(transaction.signed(with: key).rawBytes)
        guard receipt.succeeded else {
            throw EVMError(.rpcError, "the escrow reverted the server's call in \(receipt.transactionHash.hex)")
        }
        return receipt
    }
}
