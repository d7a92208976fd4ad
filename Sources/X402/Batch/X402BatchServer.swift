import EVM
import Foundation
import Ledger
import Logging
import Synchronization

/// The resource server's side of batch-settlement: its channels (``X402BatchStore``), their
/// serialization, and the claims and sweeps of what they were charged. ``X402Middleware`` hands
/// it the requests paid with the scheme; ``X402BatchSettler`` runs its claims on a schedule.
///
/// One request at a time per channel, within the process: another request on a channel whose
/// voucher is being served is refused with `invalid_batch_settlement_evm_channel_busy`, as x402's
/// own server does. Across processes the charged cumulative is a conditional write, so two
/// replicas can never both charge the same voucher.
public final class X402BatchServer: Sendable {
    public let facilitator: X402BatchFacilitator
    public let store: X402BatchStore
    let logger: Logger
    private let busy = Mutex<[Hash32: ContinuousClock.Instant]>([:])
    /// The channels (``BatchBookings/tag(_:_:)``: id and generation) whose accounts exist.
    private let accounted = Mutex<Set<String>>([])
    /// The channels this process charged last, as it committed them (decision 0044): a voucher
    /// continuing one, while its chain state is fresh, is checked without reading its row.
    private let recent = Mutex<[Hash32: BatchChannelRecord]>([:])
    /// The most channels kept in ``recent``; past it, those no longer fresh are dropped.
    static let recentCapacity = 100_000

    public init(facilitator: X402BatchFacilitator, store: X402BatchStore, logger: Logger = Logger(label: "settle.x402.batch")) {
        self.facilitator = facilitator
        self.store = store
        self.logger = logger
    }

    var configuration: X402BatchConfiguration { facilitator.configuration }

    /// When this server started: only a chain state it read itself counts as fresh (a row synced
    /// by an earlier process may describe a chain that was replaced since, decision 0038).
    let started = Date()

    /// Whether `record`'s chain state lets a voucher be verified without reading the chain: read
    /// by this server within ``X402BatchConfiguration/chainStateTTL``.
    func isFresh(_ record: BatchChannelRecord) -> Bool {
        guard let synced = record.syncedAt, synced >= started else { return false }
        let ttl = Double(configuration.chainStateTTL.components.seconds) + Double(configuration.chainStateTTL.components.attoseconds) / 1e18
        return Date().timeIntervalSince(synced) < ttl
    }

    // MARK: Serialization

    /// Takes the channel for one request; false while another holds it. A holder that never
    /// released (its task died) loses the channel after `seconds`.
    func reserve(_ id: Hash32, seconds: Int) -> Bool {
        let now = ContinuousClock.now
        return busy.withLock { held in
            if let until = held[id], until > now { return false }
            held[id] = now + .seconds(min(max(seconds, 30), 300))
            return true
        }
    }

    func release(_ id: Hash32) {
        _ = busy.withLock { $0.removeValue(forKey: id) }
    }

    // MARK: Channels charged last

    /// The channel as this process last committed a voucher on it, while its chain state is
    /// fresh. Only a voucher (not a deposit or refund) that continues it may be decided from it:
    /// a row changed elsewhere since (another replica's voucher) fails the commit's condition.
    func recentChannel(_ id: Hash32) -> BatchChannelRecord? {
        guard let record = recent.withLock({ $0[id] }), isFresh(record) else { return nil }
        return record
    }

    /// Keeps `record`, as just committed.
    func remember(_ record: BatchChannelRecord) {
        guard isFresh(record) else { return forget(record.id) }
        recent.withLock { recent in
            if recent.count >= Self.recentCapacity, recent[record.id] == nil {
                recent = recent.filter { isFresh($0.value) }
                if recent.count >= Self.recentCapacity { recent.removeAll(keepingCapacity: true) }
            }
            recent[record.id] = record
        }
    }

    /// Drops what ``remember(_:)`` kept of a channel whose row changes otherwise.
    func forget(_ id: Hash32) {
        _ = recent.withLock { $0.removeValue(forKey: id) }
    }

    /// Creates the ledger accounts of a channel's generation once per process.
    func createAccounts(_ id: Hash32, generation: Int = 0, config: BatchChannelConfig, merchant: String) async throws {
        let tag = BatchBookings.tag(id, generation)
        if accounted.withLock({ $0.contains(tag) }) { return }
        try await store.createAccounts(channel: id, generation: generation, receiver: config.receiver, merchant: merchant)
        _ = accounted.withLock { $0.insert(tag) }
    }

    func merchant(for config: BatchChannelConfig) -> AccountID? {
        configuration.merchantAccounts[config.receiver.lowercased]
    }

    // MARK: Claims and sweeps

    /// Claims what the channels of `receiver` were charged and not yet claimed, at most `limit`
    /// channels in one `claimWithSignature` (the reference server's batches hold 100), and books
    /// the claims once mined.
    /// - Returns: the channels claimed, and the claim's answer (nil when nothing was due).
    @discardableResult
    public func claim(receiver: Address, limit: Int = 100) async throws -> (channels: Int, response: SettleResponse?) {
        let due = try await store.unclaimed(receiver: receiver, limit: limit)
        guard !due.isEmpty else { return (0, nil) }
        let claims = due.map {
            BatchPayload.Claim(config: $0.config, maxClaimable: $0.signedMax, signature: $0.signature, totalClaimed: $0.charged)
        }
        let response = try await facilitator.claim(claims, signature: nil)
        guard response.success else {
            logger.warning("x402 batch claim failed", metadata: ["reason": "\(response.errorReason?.rawValue ?? "")"])
            return (0, response)
        }
        try await store.recordClaims(due, transaction: response.transaction)
        for record in due { forget(record.id) }
        return (due.count, response)
    }

    /// Reads again the chain state of `receiver`'s channels with unclaimed charges that was last
    /// read `age` ago or more, so that a payer's `initiateWithdraw` is seen while its vouchers can
    /// still be claimed.
    public func refreshUnclaimed(receiver: Address, olderThan age: Duration) async throws {
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        for record in try await store.unclaimed(receiver: receiver, limit: 1_000)
        where record.syncedAt.map({ Date().timeIntervalSince($0) >= seconds }) ?? true {
            try await store.refresh(record.id, try await facilitator.chain.state(record.id))
            forget(record.id)
        }
    }

    /// Sweeps what is claimed for `receiver` to it (`settle`) and books the sweep.
    /// - Returns: the sweep's answer; `invalid_batch_settlement_evm_nothing_to_settle` when nothing is claimed.
    @discardableResult
    public func sweep(receiver: Address) async throws -> SettleResponse {
        let response = try await facilitator.sweep(receiver: receiver, token: configuration.token.address)
        if response.success, let amount = response.amount.flatMap({ try? EVM.UInt256(decimal: $0) }), amount > .zero {
            try await store.recordSweep(receiver: receiver, amount: amount, transaction: try Hash32(hex: response.transaction))
        }
        return response
    }
}
