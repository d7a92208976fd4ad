import EVM
import Foundation
import Ledger
import Logging
import PostgresNIO
import ServiceLifecycle

/// Session channels in PostgreSQL (`settle.mpp_sessions`) and the bookings of their charges.
///
/// A voucher's new state and its charge are written together: ``enqueue(_:)`` queues them, and
/// one transaction per batch (``Coalescer``, decision 0005) updates every channel of the batch
/// with a condition on the state it was computed from, then posts the charges through the
/// ledger's posting function on the same connection. So a response is served only after its
/// voucher and booking are durable, a crash loses both or neither, and a replica that computed
/// from a stale row gets a ``VoucherCommit/Outcome/conflict`` instead of overwriting. Run it as a
/// `Service`.
///
/// Channels are split over ``shards`` queues by their id, each with one batch in flight: a
/// channel's commits stay in one queue, so a batch always finds the channel as the previous batch
/// left it, while batches of other channels overlap with it (the application's work on one with the
/// database's on the other, as group commit's two batches in flight do). Two batches never share a
/// session row, and both lock balance rows in account order, so they cannot deadlock.
public final class SessionStore: Service, Sendable {
    public let ledger: PostgresLedger
    let logger: Logger
    private let shards: [Coalescer<VoucherCommit, VoucherCommit.Outcome>]

    /// - Parameter shards: commit queues, each with one batch in flight.
    public init(ledger: PostgresLedger, shards: Int = 2, logger: Logger = Logger(label: "settle.mpp.session")) {
        self.ledger = ledger
        self.logger = logger
        self.shards = (0..<max(1, shards)).map { _ in
            Coalescer(
                maxBatch: 2_000, maxInFlight: 1,
                closedError: LedgerError(.shuttingDown, "the session store is shutting down")
            ) { [ledger, logger] batch in
                await Self.run(batch, ledger: ledger, logger: logger)
            }
        }
    }

    /// Commits batches until graceful shutdown (or ``close()``), then what is queued.
    public func run() async {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for shard in shards {
                    group.addTask {
                        await shard.run(abandoned: LedgerError(.shuttingDown, "the session store shut down before committing"))
                    }
                }
            }
        } onGracefulShutdown: {
            self.close()
        }
    }

    /// Stops taking commits; ``run()`` returns once the queues are empty.
    public func close() {
        for shard in shards { shard.close() }
    }

    /// Queues a voucher's new channel state and its charge now; a channel's commits must be queued
    /// in the order they were computed, each from the one before, which the caller ensures by
    /// queueing under its own per-channel lock.
    public func enqueue(_ commit: VoucherCommit) -> PendingCommit {
        PendingCommit(ticket: shards[Int(commit.channel.withUnsafeBytes { $0[31] }) % shards.count].enqueue(commit))
    }

    /// A queued commit.
    public struct PendingCommit: Sendable {
        let ticket: Coalescer<VoucherCommit, VoucherCommit.Outcome>.Ticket

        /// How the commit ended, once its batch has run.
        public func outcome() async -> VoucherCommit.Outcome {
            switch await ticket.response() {
            case .success(let outcome): return outcome
            case .failure(let error): return .failed(error.message)
            }
        }
    }

    // MARK: - Channels

    static let columns = """
        channel_id, protocol, escrow, payer, payee, operator, token, salt, authorized_signer, expiring_nonce_hash, \
        merchant_account, deposit::text, settled::text, accepted::text, signature, spent::text, charged_cumulative::text, \
        close_requested_at, state
        """

    /// The channel `id`; nil when the server never registered it.
    public func channel(_ id: Hash32) async throws -> SessionChannel? {
        let rows = try await ledger.client.query(
            "select \(unescaped: Self.columns) from settle.mpp_sessions where channel_id = \(id.hex)", logger: logger)
        for try await row in rows { return try Self.decode(row) }
        return nil
    }

    /// Registers a channel read from the chain, and creates its ledger accounts; an existing row wins.
    /// - Returns: the stored channel.
    public func register(_ channel: SessionChannel, chainID: UInt64, asset: AssetID) async throws -> SessionChannel {
        let d = channel.descriptor
        try await ledger.client.query(
            """
            insert into settle.mpp_sessions (channel_id, protocol, escrow, chain_id, payer, payee, operator, token, salt,
                authorized_signer, expiring_nonce_hash, asset, merchant_account, deposit, settled, close_requested_at)
            values (\(channel.id.hex), \(channel.version.rawValue), \(channel.escrow.lowercased), \(Int64(clamping: chainID)), \(d.payer.lowercased),
                \(d.payee.lowercased), \(d.operator.lowercased), \(d.token.lowercased), \(d.salt.hex), \(d.authorizedSigner.lowercased),
                \(d.expiringNonceHash.hex), \(asset.rawValue), \(channel.merchantAccount), \(channel.deposit.description)::numeric,
                \(channel.settled.description)::numeric, \(Int64(clamping: channel.closeRequestedAt)))
            on conflict (channel_id) do nothing
            """, logger: logger)
        let accounts = [
            Account(
                id: try Self.vouchersAccount(asset: asset, channel: channel.id), asset: asset, code: "rail", normalSide: .debit,
                metadata: ["role": .string("tempo:{asset}:vouchers:{channel}")]),
            Account(id: try AccountID(channel.merchantAccount), asset: asset, code: "revenue", normalSide: .credit),
        ]
        for (account, result) in zip(accounts, try await ledger.createAccounts(accounts)) {
            // An account that exists with other fields (a merchant account made by hand) is used as it is.
            if case .rejected(let error) = result, error.code != .existsWithDifferentFields {
                throw LedgerError(error.code, "account \(account.id): \(error.message)")
            }
        }
        guard let stored = try await self.channel(channel.id) else {
            throw LedgerError(.database, "channel \(channel.id.hex) was not stored")
        }
        return stored
    }

    /// Records the chain's view of a channel: its deposit, what is settled, a close request.
    public func refresh(_ id: Hash32, deposit: EVM.UInt256, settled: EVM.UInt256, closeRequestedAt: UInt64) async throws {
        try await ledger.client.query(
            """
            update settle.mpp_sessions set deposit = greatest(deposit, \(deposit.description)::numeric),
                settled = greatest(settled, \(settled.description)::numeric),
                close_requested_at = \(Int64(clamping: closeRequestedAt))
            where channel_id = \(id.hex)
            """, logger: logger)
    }

    /// Records a settlement on chain up to `settled`, of the vouchers counted up to `vouchers`.
    public func settled(_ id: Hash32, settled: EVM.UInt256, vouchers: Int64) async throws {
        try await ledger.client.query(
            """
            update settle.mpp_sessions set settled = greatest(settled, \(settled.description)::numeric),
                settled_vouchers = greatest(settled_vouchers, \(vouchers)),
                unsettled_since = case when accepted > \(settled.description)::numeric then now() end
            where channel_id = \(id.hex)
            """, logger: logger)
    }

    /// Records a cooperative close that paid the payee `captured` in all. When that is more than
    /// requests spent (a v1 close captures its voucher), the rest is the payer's last charge, booked
    /// in the same transaction, so that revenue equals what the channel paid out on chain.
    public func closed(_ id: Hash32, captured: EVM.UInt256, asset: AssetID, transaction: Hash32) async throws {
        let ledger = self.ledger
        let logger = self.logger
        try await ledger.client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                "select spent::text, merchant_account from settle.mpp_sessions where channel_id = \(id.hex) and state <> 'closed' for update",
                logger: logger)
            var current: (EVM.UInt256, String)?
            for try await (spent, merchant) in rows.decode((String, String).self) {
                current = (try EVM.UInt256(decimal: spent), merchant)
            }
            guard let current else { return }
            let (spent, merchant) = current
            if spent < captured {
                let charge = captured - spent
                let transfer = try Self.charge(
                    channel: id, asset: asset, merchant: merchant, amount: charge, spentAfter: captured, cumulative: captured)
                let results = try await ledger.post([transfer], on: connection)
                if case .rejected(let error) = results[0] { throw error }
            }
            try await connection.query(
                """
                update settle.mpp_sessions set state = 'closed', closed_at = now(), close_tx = \(transaction.hex),
                    settled = greatest(settled, \(captured.description)::numeric),
                    spent = greatest(spent, \(captured.description)::numeric), unsettled_since = null
                where channel_id = \(id.hex)
                """, logger: logger)
        }
    }

    /// Starts a cooperative close: from now on every replica's voucher commits on the channel
    /// conflict, so what the close captures is final.
    /// - Returns: the channel as it is now durable, or nil when it is not open.
    public func beginClose(_ id: Hash32) async throws -> SessionChannel? {
        let rows = try await ledger.client.query(
            "update settle.mpp_sessions set state = 'closing' where channel_id = \(id.hex) and state = 'open' returning \(unescaped: Self.columns)",
            logger: logger)
        for try await row in rows { return try Self.decode(row) }
        return nil
    }

    /// Gives a channel back to vouchers when its close did not happen on chain.
    public func abortClose(_ id: Hash32) async throws {
        try await ledger.client.query(
            "update settle.mpp_sessions set state = 'open' where channel_id = \(id.hex) and state = 'closing'", logger: logger)
    }

    /// Marks a channel closed without a payout by this server (the payer withdrew after its grace period).
    public func finalized(_ id: Hash32) async throws {
        try await ledger.client.query(
            "update settle.mpp_sessions set state = 'closed', closed_at = now() where channel_id = \(id.hex) and state <> 'closed'",
            logger: logger)
    }

    /// Open channels the settler should act on.
    /// - Parameters:
    ///   - amount: settle when this much is unsettled.
    ///   - age: settle when vouchers have waited this long.
    ///   - count: settle after this many vouchers.
    ///   - idle: close channels without a voucher for this long.
    ///   - chainID: the chain of the settler's escrows.
    ///   - payee: the settler's payee: channels of other servers sharing the database are theirs.
    public func due(
        amount: EVM.UInt256, age: Duration, count: Int64, idle: Duration, chainID: UInt64, payee: Address
    ) async throws -> (
        settle: [SessionChannel], close: [SessionChannel]
    ) {
        let rows = try await ledger.client.query(
            """
            select \(unescaped: Self.columns), vouchers,
                (accepted - settled >= \(amount.description)::numeric
                    or unsettled_since <= now() - make_interval(secs => \(Self.seconds(age)))
                    or vouchers - settled_vouchers >= \(count) or close_requested_at > 0) and accepted > settled as settle,
                coalesce(last_voucher_at, opened_at) <= now() - make_interval(secs => \(Self.seconds(idle))) as idle
            from settle.mpp_sessions
            where state = 'open' and chain_id = \(Int64(clamping: chainID)) and payee = \(payee.lowercased)
            """, logger: logger)
        var settle: [SessionChannel] = []
        var close: [SessionChannel] = []
        for try await row in rows {
            var channel = try Self.decode(row)
            let cells = Array(row)
            channel.vouchers = try cells[19].decode(Int64.self)
            if try cells[21].decode(Bool.self) {
                close.append(channel)
            } else if try cells[20].decode(Bool.self) {
                settle.append(channel)
            }
        }
        return (settle, close)
    }

    // MARK: - Commits

    static func run(_ batch: [VoucherCommit], ledger: PostgresLedger, logger: Logger) async -> [Result<VoucherCommit.Outcome, LedgerError>]
    {
        // Chains of commits on one channel collapse into one conditional update: the condition of
        // the first, the state of the last.
        var order: [Hash32] = []
        var first: [Hash32: VoucherCommit] = [:]
        var last: [Hash32: VoucherCommit] = [:]
        var count: [Hash32: Int64] = [:]
        for commit in batch {
            if first[commit.channel] == nil {
                first[commit.channel] = commit
                order.append(commit.channel)
            }
            last[commit.channel] = commit
            count[commit.channel, default: 0] += 1
        }
        var contiguous = Set<Hash32>()
        for id in order where Self.isChain(batch.filter { $0.channel == id }) { contiguous.insert(id) }
        // The common case, every channel as its vouchers saw it: one statement, one round trip.
        // Anything else (a conflict, a rejected charge, a failure) takes the per-channel path
        // below, which tells each channel's conflict apart and reports the failure.
        if contiguous.count == order.count {
            var channels = VoucherBatch()
            for id in order { channels.append(first: first[id]!, last: last[id]!, count: count[id]!) }
            do {
                _ = try await ledger.post(batch.compactMap(\.transfer), guardedBy: channels)
                return batch.map { _ in .success(.committed) }
            } catch {
                logger.debug("mpp session batch takes the per-channel path", metadata: ["reason": "\(error.message)"])
            }
        }
        do {
            let updated = try await ledger.client.withTransaction(logger: logger) { connection -> Set<Hash32> in
                let ids = order.filter { contiguous.contains($0) }
                var binds = PostgresBindings()
                binds.append(ids.map(\.hex))
                binds.append(ids.map { first[$0]!.expected.accepted.description })
                binds.append(ids.map { first[$0]!.expected.spent.description })
                binds.append(ids.map { last[$0]!.accepted.description })
                binds.append(ids.map { last[$0]!.spent.description })
                binds.append(ids.map { Hex.encode(last[$0]!.signature) })
                binds.append(ids.map { last[$0]!.chargedCumulative?.description ?? "" })
                binds.append(ids.map { count[$0]! })
                let rows = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            update settle.mpp_sessions s set accepted = u.accepted::numeric, spent = u.spent::numeric,
                                signature = u.signature, charged_cumulative = nullif(u.charged, '')::numeric,
                                vouchers = s.vouchers + u.n, last_voucher_at = now(),
                                unsettled_since = coalesce(s.unsettled_since, now())
                            from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[])
                                as u(id, old_accepted, old_spent, accepted, spent, signature, charged, n)
                            where s.channel_id = u.id and s.state = 'open' and s.close_requested_at = 0
                                and s.accepted = u.old_accepted::numeric and s.spent = u.old_spent::numeric
                            returning s.channel_id
                            """, binds: binds), logger: logger)
                var updated = Set<Hash32>()
                for try await id in rows.decode(String.self) { updated.insert(try Hash32(hex: id)) }
                let transfers = batch.filter { updated.contains($0.channel) }.compactMap(\.transfer)
                if !transfers.isEmpty {
                    for result in try await ledger.post(transfers, on: connection) {
                        if case .rejected(let error) = result { throw error }
                    }
                }
                return updated
            }
            return batch.map { .success(updated.contains($0.channel) ? .committed : .conflict) }
        } catch {
            let message = (error as? LedgerError)?.message ?? String(reflecting: error)
            logger.error("mpp session commit failed; nothing of the batch was written", metadata: ["error": "\(message)"])
            return batch.map { _ in .success(.failed(message)) }
        }
    }

    /// Whether a channel's commits follow each other (each computed from the one before).
    static func isChain(_ commits: [VoucherCommit]) -> Bool {
        zip(commits, commits.dropFirst()).allSatisfy { $0.accepted == $1.expected.accepted && $0.spent == $1.expected.spent }
    }

    /// `tempo:{asset}:vouchers:{channel}`, the Tempo rail's account of the channel's uncollected charges.
    public static func vouchersAccount(asset: AssetID, channel: Hash32) throws(LedgerError) -> AccountID {
        try AccountID("tempo:\(asset.rawValue):vouchers:\(channel.hex)")
    }

    /// The booking of a charge: from the channel's vouchers account to the merchant's revenue. Its
    /// id is the channel and what was spent after it, so the same charge is never booked twice.
    static func charge(
        channel: Hash32, asset: AssetID, merchant: String, amount: EVM.UInt256, spentAfter: EVM.UInt256, cumulative: EVM.UInt256
    ) throws(LedgerError) -> NewTransfer {
        let value = Ledger.UInt256(decimal: amount.description)!
        return NewTransfer(
            id: try TransferID("mpp:session:\(channel.hex):\(spentAfter.description)"),
            .post([.debit(try vouchersAccount(asset: asset, channel: channel), value), .credit(try AccountID(merchant), value)]),
            metadata: ["channel": .string(channel.hex), "cumulative": .string(cumulative.description)])
    }

    // MARK: - Rows

    static func decode(_ row: PostgresRow) throws -> SessionChannel {
        let c = Array(row)
        func text(_ i: Int) throws -> String { try c[i].decode(String.self) }
        func address(_ i: Int) throws -> Address { try Address(try text(i)) }
        func hash(_ i: Int) throws -> Hash32 { try Hash32(hex: try text(i)) }
        func amount(_ i: Int) throws -> EVM.UInt256 { try EVM.UInt256(decimal: try text(i)) }
        let charged = try c[16].decode(String?.self)
        return SessionChannel(
            id: try hash(0), version: TempoChannelEscrow(rawValue: try text(1)) ?? .v1, escrow: try address(2),
            descriptor: TempoChannelDescriptor(
                payer: try address(3), payee: try address(4), operator: try address(5), token: try address(6), salt: try hash(7),
                authorizedSigner: try address(8), expiringNonceHash: try hash(9)),
            deposit: try amount(11), settled: try amount(12), accepted: try amount(13), signature: try Hex.decode(try text(14)),
            spent: try amount(15), chargedCumulative: try charged.map { s throws in try EVM.UInt256(decimal: s) },
            closeRequestedAt: UInt64(clamping: try c[17].decode(Int64.self)), closing: try text(18) == "closing",
            closed: try text(18) == "closed",
            chainReadAt: .now, merchantAccount: try text(10))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
