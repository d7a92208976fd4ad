import Foundation
import Logging
import PostgresNIO

/// The natural key of an EIP-3009 payment, which the token contract itself enforces:
/// `(network, asset, payer, nonce)`, addresses and nonce in lowercase hex.
public struct PaymentKey: Sendable, Hashable, CustomStringConvertible {
    public var network: String
    public var asset: String
    public var payer: String
    public var nonce: String

    public init(network: String, asset: String, payer: String, nonce: String) {
        self.network = network
        self.asset = asset.lowercased()
        self.payer = payer.lowercased()
        self.nonce = nonce.lowercased()
    }

    /// `<network>/<asset>/<payer>/<nonce>`: the rail reference of the payment's ledger transfers.
    public var description: String { "\(network)/\(asset)/\(payer)/\(nonce)" }
}

/// Where one settlement stands, as stored.
public struct SettlementRecord: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        /// Accepted for settlement; no transaction exists yet.
        case reserved
        /// A transaction is signed and stored (and possibly sent).
        case broadcast
        case settled
        case failed
        /// Settled, then dropped from the chain by a reorganization when it could no longer be
        /// paid: its booking is reversed.
        case reversed
    }

    public var key: PaymentKey
    public var state: State
    public var requestHash: [UInt8]
    public var payload: String
    public var txHash: String?
    public var rawTx: [UInt8]?
    public var result: SettleResponse?
    /// Seconds since the row last changed (for taking over a reservation whose owner died).
    public var idleSeconds: Double
    /// When the row was first reserved (Unix seconds): the effective time of its bookings.
    public var createdAt: Double
}

/// The durable settlement rows (`settle.x402_settlements`): reserved before any transaction is
/// signed, the raw transaction stored before it is sent.
public struct X402SettlementStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger = Logger(label: "settle.x402")) {
        self.client = client
        self.logger = logger
    }

    /// The row of `key`, if any.
    public func record(_ key: PaymentKey) async throws -> SettlementRecord? {
        let rows = try await client.query(
            """
            select state, encode(request_hash, 'hex'), payload::text, tx_hash, encode(raw_tx, 'hex'), result::text,
                   extract(epoch from now() - updated_at)::float8, extract(epoch from created_at)::float8
            from settle.x402_settlements
            where network = \(key.network) and asset = \(key.asset) and payer = \(key.payer) and nonce = \(key.nonce)
            """, logger: logger)
        for try await (state, hash, payload, tx, raw, result, idle, created) in rows.decode(
            (String, String, String, String?, String?, String?, Double, Double).self)
        {
            return SettlementRecord(
                key: key, state: SettlementRecord.State(rawValue: state) ?? .failed, requestHash: Self.bytes(hex: hash),
                payload: payload, txHash: tx, rawTx: raw.map(Self.bytes(hex:)),
                result: result.flatMap { try? JSONDecoder().decode(SettleResponse.self, from: Data($0.utf8)) }, idleSeconds: idle,
                createdAt: created)
        }
        return nil
    }

    /// Rows of `networks` with a transaction but no outcome yet, idle for `olderThan` seconds,
    /// oldest first.
    public func unresolved(networks: [String], olderThan: Double, limit: Int) async throws -> [SettlementRecord] {
        try await records(
            """
            select network, asset, payer, nonce from settle.x402_settlements
            where state = 'broadcast' and network = any(\(networks)) and updated_at < now() - make_interval(secs => \(olderThan))
            order by updated_at limit \(limit)
            """)
    }

    /// The rows whose keys `query` selects (network, asset, payer, nonce), in its order.
    func records(_ query: PostgresQuery) async throws -> [SettlementRecord] {
        var keys: [PaymentKey] = []
        for try await (network, asset, payer, nonce) in try await client.query(query, logger: logger).decode(
            (String, String, String, String).self)
        {
            keys.append(PaymentKey(network: network, asset: asset, payer: payer, nonce: nonce))
        }
        var records: [SettlementRecord] = []
        for key in keys { if let record = try await record(key) { records.append(record) } }
        return records
    }

    /// Inserts a reservation; returns its creation time, nil when a row for the key exists already.
    public func reserve(_ key: PaymentKey, requestHash: [UInt8], payload: String) async throws -> Double? {
        let hash = Self.hex(requestHash)
        let rows = try await client.query(
            """
            insert into settle.x402_settlements (network, asset, payer, nonce, state, request_hash, payload)
            values (\(key.network), \(key.asset), \(key.payer), \(key.nonce), 'reserved', decode(\(hash), 'hex'), \(payload)::jsonb)
            on conflict do nothing
            returning extract(epoch from created_at)::float8
            """, logger: logger)
        for try await created in rows.decode(Double.self) { return created }
        return nil
    }

    /// Takes over a row that can carry no transaction of its own: one that failed before any was
    /// signed, or a reservation idle for `leaseSeconds` (its owner died before signing).
    /// Returns the row's creation time, nil when it cannot be taken over.
    public func takeOver(_ key: PaymentKey, requestHash: [UInt8], payload: String, leaseSeconds: Double) async throws -> Double? {
        let hash = Self.hex(requestHash)
        let rows = try await client.query(
            """
            update settle.x402_settlements
            set state = 'reserved', request_hash = decode(\(hash), 'hex'), payload = \(payload)::jsonb, result = null, updated_at = now()
            where network = \(key.network) and asset = \(key.asset) and payer = \(key.payer) and nonce = \(key.nonce)
              and tx_hash is null
              and (state = 'failed' or (state = 'reserved' and updated_at < now() - make_interval(secs => \(leaseSeconds))))
            returning extract(epoch from created_at)::float8
            """, logger: logger)
        for try await created in rows.decode(Double.self) { return created }
        return nil
    }

    /// Stores the signed transaction (before it is sent).
    public func recordBroadcast(_ key: PaymentKey, txHash: String, rawTx: [UInt8]) async throws {
        let raw = Self.hex(rawTx)
        let rows = try await client.query(
            """
            update settle.x402_settlements
            set state = 'broadcast', tx_hash = \(txHash), raw_tx = decode(\(raw), 'hex'), updated_at = now()
            where network = \(key.network) and asset = \(key.asset) and payer = \(key.payer) and nonce = \(key.nonce)
              and state in ('reserved', 'broadcast')
            returning 1
            """, logger: logger)
        for try await _ in rows { return }
        throw X402FacilitatorError("settlement \(key) is no longer open: its transaction was not stored")
    }

    /// Records the final state; a row already final keeps its first result.
    @discardableResult
    public func finish(_ key: PaymentKey, state: SettlementRecord.State, result: SettleResponse) async throws -> Bool {
        let json = String(decoding: X402HeaderCodec.json(result), as: UTF8.self)
        let rows = try await client.query(
            """
            update settle.x402_settlements set state = \(state.rawValue), result = \(json)::jsonb, updated_at = now()
            where network = \(key.network) and asset = \(key.asset) and payer = \(key.payer) and nonce = \(key.nonce)
              and state in ('reserved', 'broadcast')
            returning 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func bytes(hex: String) -> [UInt8] {
        var out = [UInt8]()
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            default: continue
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return out
    }
}

/// A facilitator failure that is not an answer about the payment (its store or chain is down).
public struct X402FacilitatorError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
