import EVM
import Foundation
import Ledger
import Logging
import PostgresNIO

/// Batch-settlement channels in PostgreSQL (`settle.x402_batch_channels`) and their bookings
/// (``BatchBookings``). Every change of a channel is written in the transaction that books it.
public struct X402BatchStore: Sendable {
    public let ledger: PostgresLedger
    /// The channels' token: its ledger asset and chain.
    public let token: X402Token
    let logger: Logger
    /// The vouchers' group commit.
    private let vouchers = BatchVoucherQueue()

    public init(ledger: PostgresLedger, token: X402Token, logger: Logger = Logger(label: "settle.x402.batch")) {
        self.ledger = ledger
        self.token = token
        self.logger = logger
    }

    /// A voucher's channel update and its charge, as they are committed together.
    struct VoucherCommit: Sendable {
        var guarded: BatchVoucherGuard
        /// The channel's generation the voucher was checked against.
        var generation: Int
        var charge: NewTransfer
    }

    var assetID: AssetID { token.assetID }

    /// Creates the ledger asset (an existing one is used as it is).
    public func prepare() async throws {
        if case .rejected(let error) = try await ledger.createAssets([token.ledgerAsset]).first, error.code != .existsWithDifferentFields {
            throw error
        }
    }

    static let columns = """
        channel_id, payer, payer_authorizer, receiver, receiver_authorizer, token, withdraw_delay, salt, merchant_account, \
        balance::text, total_claimed::text, withdraw_requested_at, refund_nonce::text, synced_at, charged::text, signed_max::text, \
        signature, claimed::text, generation
        """

    func channel(_ id: Hash32) async throws -> BatchChannelRecord? {
        let rows = try await ledger.client.query(
            "select \(unescaped: Self.columns) from settle.x402_batch_channels where channel_id = \(id.hex)", logger: logger)
        for try await row in rows { return try Self.decode(row) }
        return nil
    }

    /// The accounts of a channel's bookings.
    func createAccounts(channel: Hash32, generation: Int = 0, receiver: Address, merchant: String) async throws {
        let accounts = try BatchBookings.accounts(
            assetID, channel: channel, generation: generation, receiver: receiver, merchant: merchant)
        for (account, result) in zip(accounts, try await ledger.createAccounts(accounts)) {
            // An account made elsewhere with other fields (a merchant account, x402's incoming) is used as it is.
            if case .rejected(let error) = result, error.code != .existsWithDifferentFields {
                throw LedgerError(error.code, "account \(account.id): \(error.message)")
            }
        }
    }

    /// A voucher's charge and the channel's new charged cumulative, committed together with the
    /// other vouchers that came meanwhile (``BatchVoucherQueue``) in one statement.
    /// - Returns: false when the channel was charged since `oldCharged` was read; nothing is
    ///   written then.
    func commitVoucher(_ commit: VoucherCommit) async throws(LedgerError) -> Bool {
        try await vouchers.commit(commit) { [self] batch in await self.commit(batch) }.get()
    }

    /// Commits a batch of vouchers of distinct channels in one statement; when any of them
    /// cannot be (its channel changed, its charge was refused: nothing is written then), each
    /// alone, so that each gets its own answer.
    func commit(_ batch: [VoucherCommit]) async -> [Result<Bool, LedgerError>] {
        if batch.count > 1 {
            do {
                _ = try await ledger.post(batch.map(\.charge), guardedBy: BatchVouchersGuard(commits: batch))
                return batch.map { _ in .success(true) }
            } catch {
                logger.debug("x402 batch vouchers committed one by one", metadata: ["vouchers": "\(batch.count)", "error": "\(error)"])
            }
        }
        var answers: [Result<Bool, LedgerError>] = []
        for commit in batch {
            do {
                _ = try await ledger.post([commit.charge], guardedBy: commit.guarded)
                answers.append(.success(true))
            } catch {
                answers.append(error.code == .guardFailed ? .success(false) : .failure(error))
            }
        }
        return answers
    }

    /// Records a mined deposit and the first charge it pays: the channel row (created, or moved
    /// on from `oldCharged`) with the chain's state after the deposit, and both bookings.
    /// - Returns: false when the channel was charged since `oldCharged` was read (nothing written).
    func recordDeposit(_ record: BatchChannelRecord, oldCharged: EVM.UInt256?, transfers: [NewTransfer]) async throws -> Bool {
        let ledger = self.ledger
        let logger = self.logger
        let c = record.config
        let chainID = Int64(clamping: token.chainID)
        return try await ledger.client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                insert into settle.x402_batch_channels as x (channel_id, chain_id, payer, payer_authorizer, receiver, receiver_authorizer,
                    token, withdraw_delay, salt, asset, merchant_account, balance, total_claimed, withdraw_requested_at, refund_nonce,
                    synced_at, charged, signed_max, signature, claimed, vouchers, unclaimed_since, last_voucher_at)
                values (\(record.id.hex), \(chainID), \(c.payer.lowercased), \(c.payerAuthorizer.lowercased), \(c.receiver.lowercased),
                    \(c.receiverAuthorizer.lowercased), \(c.token.lowercased), \(Int64(clamping: c.withdrawDelay)), \(c.salt.hex),
                    \(self.assetID.rawValue), \(record.merchantAccount), \(record.chain.balance.description)::numeric,
                    \(record.chain.totalClaimed.description)::numeric, \(Int64(clamping: record.chain.withdrawRequestedAt)),
                    \(record.chain.refundNonce.description)::numeric, now(), \(record.charged.description)::numeric,
                    \(record.signedMax.description)::numeric, \(Hex.encode(record.signature)), \(record.claimed.description)::numeric, 1,
                    now(), now())
                on conflict (channel_id) do update set balance = excluded.balance, total_claimed = excluded.total_claimed,
                    withdraw_requested_at = excluded.withdraw_requested_at, refund_nonce = excluded.refund_nonce, synced_at = now(),
                    charged = excluded.charged, signed_max = excluded.signed_max, signature = excluded.signature,
                    vouchers = x.vouchers + 1, last_voucher_at = now(), unclaimed_since = coalesce(x.unclaimed_since, now())
                where x.charged = \((oldCharged ?? .zero).description)::numeric and x.generation = \(record.generation)
                returning channel_id
                """, logger: logger)
            return try await Self.post(transfers, ifWritten: rows, ledger: ledger, on: connection)
        }
    }

    /// Posts `transfers` on `connection` when the row change `rows` returned a row.
    /// - Returns: whether it did; a rejected transfer throws (the transaction is rolled back).
    private static func post(
        _ transfers: [NewTransfer], ifWritten rows: PostgresRowSequence, ledger: PostgresLedger, on connection: PostgresConnection
    )
        async throws -> Bool
    {
        var written = false
        for try await _ in rows { written = true }
        guard written else { return false }
        for result in try await ledger.post(transfers, on: connection) {
            if case .rejected(let error) = result { throw error }
        }
        return true
    }

    /// The sum of the charges booked on a channel's generation: the cumulative its bookings
    /// reached (charges are booked in order, each the increment to its cumulative).
    func chargesBooked(_ channel: Hash32, generation: Int = 0) async throws -> EVM.UInt256 {
        let escrow = try BatchBookings.escrow(assetID, channel, generation: generation)
        let rows = try await ledger.client.query(
            """
            select coalesce(sum(e.amount), 0)::text from settle.entries e
                join settle.accounts a on a.num = e.account_num join settle.transfers t on t.seq = e.transfer_seq
            where a.id = \(escrow.rawValue) and e.is_debit and t.id like 'x402:batch:0x%'
            """, logger: logger)
        for try await text in rows.decode(String.self) { return try EVM.UInt256(decimal: text) }
        return .zero
    }

    /// Records the chain's state of a channel as just read.
    func refresh(_ id: Hash32, _ state: BatchChannelState) async throws {
        try await ledger.client.query(
            """
            update settle.x402_batch_channels set balance = \(state.balance.description)::numeric,
                total_claimed = \(state.totalClaimed.description)::numeric, withdraw_requested_at = \(Int64(clamping: state.withdrawRequestedAt)),
                refund_nonce = \(state.refundNonce.description)::numeric, synced_at = now()
            where channel_id = \(id.hex)
            """, logger: logger)
    }

    /// Starts the next generation of a channel whose chain no longer has what `record` describes
    /// (``BatchChannelRecord/isSuperseded(by:)``): the row restarts from the chain's `state`, with
    /// nothing charged beyond what the chain says is claimed and no voucher, and `transfers` (the
    /// new generation's opening) are booked with it. The earlier generation's bookings stay as
    /// they were: they describe a chain that is gone.
    /// - Returns: the new row; nil when another request renewed or changed the row first.
    func renew(_ record: BatchChannelRecord, state: BatchChannelState, transfers: [NewTransfer]) async throws -> BatchChannelRecord? {
        let ledger = self.ledger
        let logger = self.logger
        let renewed = try await ledger.client.withTransaction(logger: logger) { connection -> Bool in
            let rows = try await connection.query(
                """
                update settle.x402_batch_channels set generation = generation + 1, renewed_at = now(),
                    balance = \(state.balance.description)::numeric, total_claimed = \(state.totalClaimed.description)::numeric,
                    withdraw_requested_at = \(Int64(clamping: state.withdrawRequestedAt)),
                    refund_nonce = \(state.refundNonce.description)::numeric, synced_at = now(),
                    charged = \(state.totalClaimed.description)::numeric, signed_max = \(state.totalClaimed.description)::numeric,
                    signature = '0x', claimed = \(state.totalClaimed.description)::numeric, vouchers = 0, unclaimed_since = null
                where channel_id = \(record.id.hex) and generation = \(record.generation) and charged = \(record.charged.description)::numeric
                returning channel_id
                """, logger: logger)
            return try await Self.post(transfers, ifWritten: rows, ledger: ledger, on: connection)
        }
        return renewed ? try await channel(record.id) : nil
    }

    /// Channels of `receiver` with charges to claim: those with a pending withdrawal first (their
    /// vouchers are lost once it completes), then the longest waiting.
    func unclaimed(receiver: Address, limit: Int) async throws -> [BatchChannelRecord] {
        let rows = try await ledger.client.query(
            """
            select \(unescaped: Self.columns) from settle.x402_batch_channels
            where receiver = \(receiver.lowercased) and charged > claimed and signature <> '0x'
            order by withdraw_requested_at = 0, unclaimed_since limit \(limit)
            """, logger: logger)
        var records: [BatchChannelRecord] = []
        for try await row in rows { records.append(try Self.decode(row)) }
        return records
    }

    /// Records claims mined on chain up to each record's `charged`, and books them.
    func recordClaims(_ records: [BatchChannelRecord], transaction: String) async throws {
        let ledger = self.ledger
        let logger = self.logger
        let asset = assetID
        try await ledger.client.withTransaction(logger: logger) { connection in
            var transfers: [NewTransfer] = []
            for record in records {
                let rows = try await connection.query(
                    """
                    update settle.x402_batch_channels set claimed = \(record.charged.description)::numeric,
                        total_claimed = greatest(total_claimed, \(record.charged.description)::numeric),
                        unclaimed_since = case when charged > \(record.charged.description)::numeric then now() end
                    where channel_id = \(record.id.hex) and claimed = \(record.claimed.description)::numeric
                        and generation = \(record.generation)
                    returning channel_id
                    """, logger: logger)
                var updated = false
                for try await _ in rows { updated = true }
                guard updated else { continue }
                transfers.append(
                    try BatchBookings.claim(
                        asset, channel: record.id, generation: record.generation, receiver: record.config.receiver,
                        amount: record.charged - record.claimed, total: record.charged, transaction: transaction))
            }
            for result in try await ledger.post(transfers, on: connection) {
                if case .rejected(let error) = result { throw error }
            }
        }
    }

    func recordSweep(receiver: Address, amount: EVM.UInt256, transaction: Hash32) async throws {
        let results = try await ledger.post([try BatchBookings.sweep(assetID, receiver: receiver, amount: amount, transaction: transaction)]
        )
        if case .rejected(let error) = results[0] { throw error }
    }

    /// Records a refund mined with the channel's claim up to `record.charged`: the chain's state
    /// after it, the part of that claim the settler had not booked yet, and the refund, in one
    /// transaction (the row locked: the settler may have claimed meanwhile).
    func recordRefund(_ record: BatchChannelRecord, after: BatchChannelState, refunded: EVM.UInt256, transaction: String) async throws {
        let ledger = self.ledger
        let logger = self.logger
        let asset = assetID
        try await ledger.client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                select claimed::text from settle.x402_batch_channels
                where channel_id = \(record.id.hex) and generation = \(record.generation) for update
                """, logger: logger)
            var claimed: EVM.UInt256?
            for try await text in rows.decode(String.self) { claimed = try EVM.UInt256(decimal: text) }
            guard let claimed else { throw LedgerError(.guardFailed, "channel \(record.id.hex) is not stored") }
            let total = max(claimed, record.charged)
            try await connection.query(
                """
                update settle.x402_batch_channels set balance = \(after.balance.description)::numeric,
                    total_claimed = \(after.totalClaimed.description)::numeric, refund_nonce = \(after.refundNonce.description)::numeric,
                    withdraw_requested_at = 0, synced_at = now(), claimed = \(total.description)::numeric,
                    unclaimed_since = case when charged > \(total.description)::numeric then unclaimed_since end
                where channel_id = \(record.id.hex)
                """, logger: logger)
            var transfers: [NewTransfer] = []
            if total > claimed {
                transfers.append(
                    try BatchBookings.claim(
                        asset, channel: record.id, generation: record.generation, receiver: record.config.receiver, amount: total - claimed,
                        total: total, transaction: transaction))
            }
            if refunded > .zero {
                transfers.append(
                    try BatchBookings.refund(
                        asset, channel: record.id, generation: record.generation, nonce: after.refundNonce, amount: refunded,
                        transaction: transaction))
            }
            for result in try await ledger.post(transfers, on: connection) {
                if case .rejected(let error) = result { throw error }
            }
        }
    }

    // MARK: Rows

    static func decode(_ row: PostgresRow) throws -> BatchChannelRecord {
        let c = Array(row)
        func text(_ i: Int) throws -> String { try c[i].decode(String.self) }
        func address(_ i: Int) throws -> Address { try Address(try text(i)) }
        func amount(_ i: Int) throws -> EVM.UInt256 { try EVM.UInt256(decimal: try text(i)) }
        let config = BatchChannelConfig(
            payer: try address(1), payerAuthorizer: try address(2), receiver: try address(3), receiverAuthorizer: try address(4),
            token: try address(5), withdrawDelay: UInt64(clamping: try c[6].decode(Int64.self)), salt: try Hash32(hex: try text(7)))
        return BatchChannelRecord(
            id: try Hash32(hex: try text(0)), config: config,
            chain: BatchChannelState(
                balance: try amount(9), totalClaimed: try amount(10), withdrawRequestedAt: UInt64(clamping: try c[11].decode(Int64.self)),
                refundNonce: try amount(12)),
            syncedAt: try c[13].decode(Date?.self), charged: try amount(14), signedMax: try amount(15),
            signature: try Hex.decode(try text(16)),
            claimed: try amount(17), merchantAccount: try text(8), generation: Int(try c[18].decode(Int32.self)))
    }
}

extension X402BatchStore {
    /// Whether the channels of `receiver` are due a claim: `amount` or more charged and not
    /// claimed, a charge waiting `age` or longer, or a payer's withdrawal pending.
    func claimDue(receiver: Address, amount: EVM.UInt256, age: Duration) async throws -> Bool {
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        let rows = try await ledger.client.query(
            """
            select coalesce(sum(charged - claimed), 0) >= \(amount.description)::numeric
                or coalesce(bool_or(withdraw_requested_at > 0 or unclaimed_since <= now() - make_interval(secs => \(seconds))), false)
            from settle.x402_batch_channels where receiver = \(receiver.lowercased) and charged > claimed and signature <> '0x'
            """, logger: logger)
        for try await due in rows.decode(Bool.self) { return due }
        return false
    }
}
