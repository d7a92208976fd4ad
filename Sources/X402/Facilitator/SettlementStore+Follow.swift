import Foundation
import PostgresNIO

extension X402SettlementStore {
    /// Rows of `networks` the facilitator still follows, oldest first: settled but not final, and
    /// rows sent again after a reorganization whatever became of them.
    public func followed(networks: [String], limit: Int) async throws -> [SettlementRecord] {
        try await records(
            """
            select network, asset, payer, nonce from settle.x402_settlements
            where final_at is null and (state = 'settled' or reopened_at is not null) and state <> 'reversed'
              and network = any(\(networks))
            order by updated_at limit \(limit)
            """)
    }

    /// The settlement is deep enough: no longer followed.
    public func markFinal(_ key: PaymentKey) async throws -> Bool {
        try await updated(
            """
            update settle.x402_settlements set final_at = now()
            where network = \(key.network) and asset = \(key.asset) and payer = \(key.payer) and nonce = \(key.nonce)
              and state = 'settled' and final_at is null
            returning 1
            """)
    }

    /// A settled row whose transaction left the chain goes back to `broadcast`, to be sent again
    /// (``X402Facilitator/resume(_:record:deadline:)``) and resolved as any pending settlement.
    public func reopen(_ key: PaymentKey) async throws -> Bool {
        try await updated(
            """
            update settle.x402_settlements set state = 'broadcast', result = null, reopened_at = now(), updated_at = now()
            where network = \(key.network) and asset = \(key.asset) and payer = \(key.payer) and nonce = \(key.nonce)
              and state = 'settled' and final_at is null
            returning 1
            """)
    }

    /// The payment can no longer be made: recorded reversed, and no longer followed.
    public func markReversed(_ key: PaymentKey) async throws -> Bool {
        try await updated(
            """
            update settle.x402_settlements set state = 'reversed', final_at = now(), updated_at = now()
            where network = \(key.network) and asset = \(key.asset) and payer = \(key.payer) and nonce = \(key.nonce)
              and state in ('settled', 'failed') and final_at is null
            returning 1
            """)
    }

    private func updated(_ query: PostgresQuery) async throws -> Bool {
        for try await _ in try await client.query(query, logger: logger) { return true }
        return false
    }
}
