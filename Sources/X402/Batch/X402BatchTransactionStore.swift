import EVM
import Foundation
import Logging
import PostgresNIO

/// The transactions the batch-settlement facilitator sends (`settle.x402_batch_transactions`):
/// each stored before it is broadcast, then followed until final (``X402BatchFacilitator/follow(limit:)``).
public struct X402BatchTransactionStore: Sendable {
    public let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger = Logger(label: "settle.x402.batch")) {
        self.client = client
        self.logger = logger
    }

    /// What a stored transaction is for.
    enum Kind: String, Sendable {
        case deposit, claim, settle, refund
    }

    /// A stored transaction, as the follower reads it.
    struct Row: Sendable {
        var hash: Hash32
        var kind: Kind
        var sender: Address
        var nonce: UInt64
        var gas: UInt64
        var callData: [UInt8]
        var rawTx: [UInt8]
        var validBefore: EVM.UInt256?
        var state: String
        var blockNumber: UInt64?
    }

    /// Stores a signed transaction before it is broadcast.
    func record(
        _ hash: Hash32, chainID: UInt64, kind: Kind, sender: Address, nonce: UInt64, gas: UInt64, callData: [UInt8], rawTx: [UInt8],
        validBefore: EVM.UInt256?
    ) async throws {
        try await client.query(
            """
            insert into settle.x402_batch_transactions (tx_hash, chain_id, kind, sender, nonce, gas, call_data, raw_tx, valid_before)
            values (\(hash.hex), \(Int64(clamping: chainID)), \(kind.rawValue), \(sender.lowercased), \(Int64(clamping: nonce)),
                \(Int64(clamping: gas)), decode(\(Hex.encode(callData, prefix: false)), 'hex'),
                decode(\(Hex.encode(rawTx, prefix: false)), 'hex'), \(validBefore?.description)::numeric)
            on conflict (tx_hash) do nothing
            """, logger: logger)
    }

    /// The transaction's receipt was seen in `block` (reverted or not).
    func mined(_ hash: Hash32, block: UInt64, succeeded: Bool) async throws {
        try await client.query(
            """
            update settle.x402_batch_transactions set state = \(succeeded ? "mined" : "reverted"),
                block_number = \(Int64(clamping: block)), updated_at = now()
            where tx_hash = \(hash.hex) and final_at is null
            """, logger: logger)
    }

    /// The transactions of `chainID` not final yet, the longest unchanged first.
    func followed(chainID: UInt64, limit: Int) async throws -> [Row] {
        let rows = try await client.query(
            """
            select tx_hash, kind, sender, nonce, gas, encode(call_data, 'hex'), encode(raw_tx, 'hex'), valid_before::text, state,
                block_number
            from settle.x402_batch_transactions
            where chain_id = \(Int64(clamping: chainID)) and final_at is null
            order by updated_at limit \(limit)
            """, logger: logger)
        var result: [Row] = []
        for try await (hash, kind, sender, nonce, gas, data, raw, validBefore, state, block) in rows.decode(
            (String, String, String, Int64, Int64, String, String, String?, String, Int64?).self)
        {
            result.append(
                Row(
                    hash: try Hash32(hex: hash), kind: Kind(rawValue: kind) ?? .claim, sender: try Address(sender),
                    nonce: UInt64(clamping: nonce), gas: UInt64(clamping: gas), callData: try Hex.decode(data),
                    rawTx: try Hex.decode(raw), validBefore: try validBefore.map { try EVM.UInt256(decimal: $0) }, state: state,
                    blockNumber: block.map { UInt64(clamping: $0) }))
        }
        return result
    }

    /// No longer followed: deep enough (`state` stays), or given up (`dropped`), or replaced by
    /// another transaction of the same call.
    func finish(_ hash: Hash32, state: String? = nil, replacedBy: Hash32? = nil) async throws {
        try await client.query(
            """
            update settle.x402_batch_transactions set final_at = now(), updated_at = now(), state = coalesce(\(state), state),
                replaced_by = \(replacedBy?.hex)
            where tx_hash = \(hash.hex) and final_at is null
            """, logger: logger)
    }

    /// Sent again after a reorganization dropped it: pending until its receipt is seen again.
    func resent(_ hash: Hash32) async throws {
        try await client.query(
            """
            update settle.x402_batch_transactions set state = 'broadcast', block_number = null, updated_at = now()
            where tx_hash = \(hash.hex) and final_at is null
            """, logger: logger)
    }
}
