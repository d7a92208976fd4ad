import EVM
import Foundation
import Ledger
import Logging
import Synchronization

/// Settle's batch-settlement facilitator for resource servers that are not Settle (the official
/// x402 middleware behind `settle serve`): ``X402BatchFacilitator`` verifies and submits, and this
/// books what its `/settle` calls moved.
///
/// Such a server keeps its channels itself and charges vouchers without calling the facilitator
/// (x402 2.25's `BatchSettlementEvmScheme` settles a voucher locally), so the charges are booked
/// when they are claimed: a claim up to `totalClaimed` books the charge of what the channel's
/// claims had not reached yet (escrow → merchant) and the claim (channel clearing → claimed); a
/// deposit, a sweep (`settle`) and a refund (with its claim) are booked as Settle's own server
/// books them (``BatchBookings``), decision 0038. What a claim adds is counted from the charges
/// already booked, not from the chain: a claim whose answer was lost (mined after `/settle`
/// answered pending) is booked when the server claims again, which the chain takes as a no-op.
/// Claims and refunds are booked one at a time, so two of them never book the same increment.
public final class X402BatchBookingFacilitator: Facilitator {
    public let facilitator: X402BatchFacilitator
    public let store: X402BatchStore
    let logger: Logger
    private let queue = BatchBookingQueue()
    private let prepared = Mutex(false)

    public init(facilitator: X402BatchFacilitator, store: X402BatchStore, logger: Logger = Logger(label: "settle.x402.batch")) {
        self.facilitator = facilitator
        self.store = store
        self.logger = logger
    }

    var configuration: X402BatchConfiguration { facilitator.configuration }
    var asset: AssetID { store.assetID }

    public func supported() async throws -> SupportedResponse { try await facilitator.supported() }

    public func verify(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> VerifyResponse {
        try await facilitator.verify(payload, requirements: requirements)
    }

    public func settle(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> SettleResponse {
        let parsed: BatchPayload
        switch facilitator.admit(payload, requirements) {
        case .failure: return try await facilitator.settle(payload, requirements: requirements)
        case .success(let value): parsed = value
        }
        switch parsed {
        case .deposit(let config, let voucher, let deposit):
            let response = try await facilitator.settle(payload, requirements: requirements)
            guard response.success, let merchant = merchant(config.receiver) else { return response }
            try await createAccounts(voucher.channelID, receiver: config.receiver, merchant: merchant)
            try await post([
                try BatchBookings.deposit(
                    asset, channel: voucher.channelID,
                    nonce: deposit.reference(channelID: voucher.channelID), amount: deposit.amount,
                    transaction: response.transaction)
            ])
            return response
        case .claim(let claims, _):
            if let stranger = claims.first(where: { merchant($0.config.receiver) == nil }) {
                return facilitator.failure(.batchReceiverMismatch, "receiver \(stranger.config.receiver.checksummed) is not served here")
            }
            return try await queue.run { try await self.claim(claims, payload, requirements) }
        case .settle(let receiver, let token):
            guard merchant(receiver) != nil, token == configuration.token.address else {
                return facilitator.failure(.batchReceiverMismatch, "receiver \(receiver.checksummed) is not served here")
            }
            let response = try await facilitator.settle(payload, requirements: requirements)
            if response.success, let amount = response.amount.flatMap({ try? EVM.UInt256(decimal: $0) }), amount > .zero {
                do {
                    try await store.recordSweep(receiver: receiver, amount: amount, transaction: try Hash32(hex: response.transaction))
                } catch {
                    // The chain moved the money: the booking is repaired by hand, the answer not withheld.
                    logger.error("x402 batch sweep not booked", metadata: ["transaction": "\(response.transaction)", "error": "\(error)"])
                }
            }
            return response
        case .refund(let config, _, _, .some(let order)):
            guard merchant(config.receiver) != nil else {
                return facilitator.failure(.batchReceiverMismatch, "receiver \(config.receiver.checksummed) is not served here")
            }
            return try await queue.run { try await self.refund(config, order, payload, requirements) }
        case .refund, .voucher:
            return try await facilitator.settle(payload, requirements: requirements)
        }
    }

    func merchant(_ receiver: Address) -> AccountID? { configuration.merchantAccounts[receiver.lowercased] }

    /// The ledger asset and a channel's accounts (the asset once per process).
    private func createAccounts(_ channel: Hash32, receiver: Address, merchant: AccountID) async throws {
        if !prepared.withLock({ $0 }) {
            try await store.prepare()
            prepared.withLock { $0 = true }
        }
        try await store.createAccounts(channel: channel, receiver: receiver, merchant: merchant.rawValue)
    }

    /// A claim batch, then each channel's increment over its booked charges booked as its charge
    /// and its claim.
    private func claim(_ claims: [BatchPayload.Claim], _ payload: PaymentPayload, _ requirements: PaymentRequirements) async throws
        -> SettleResponse
    {
        let response = try await facilitator.settle(payload, requirements: requirements)
        guard response.success else { return response }
        var transfers: [NewTransfer] = []
        var reached: [Hash32: EVM.UInt256] = [:]
        for claim in claims {
            let id = claim.config.channelID(in: facilitator.domain)
            reached[id] = max(reached[id] ?? .zero, claim.totalClaimed)
        }
        for claim in claims {
            let id = claim.config.channelID(in: facilitator.domain)
            guard let total = reached.removeValue(forKey: id), let merchant = merchant(claim.config.receiver) else { continue }
            transfers += try await increment(claim.config, channel: id, to: total, merchant: merchant, transaction: response.transaction)
        }
        try await post(transfers)
        return response
    }

    /// A refund with the claim of its channel in one `multicall`: the claim's increment as in
    /// ``claim(_:_:_:)``, then the refund (escrow → channel clearing) at the nonce it used.
    private func refund(
        _ config: BatchChannelConfig, _ order: BatchPayload.RefundOrder, _ payload: PaymentPayload, _ requirements: PaymentRequirements
    ) async throws -> SettleResponse {
        let id = config.channelID(in: facilitator.domain)
        let response = try await facilitator.settle(payload, requirements: requirements)
        guard response.success, let merchant = merchant(config.receiver) else { return response }
        let total = order.claims.filter { $0.config.channelID(in: facilitator.domain) == id }.map(\.totalClaimed).reduce(.zero, max)
        var transfers = try await increment(config, channel: id, to: total, merchant: merchant, transaction: response.transaction)
        if let refunded = response.amount.flatMap({ try? EVM.UInt256(decimal: $0) }), refunded > .zero {
            // Keyed by the nonce after the refund, as Settle's own server books it.
            transfers.append(
                try BatchBookings.refund(asset, channel: id, nonce: order.nonce + 1, amount: refunded, transaction: response.transaction))
        }
        try await post(transfers)
        return response
    }

    /// What a claim up to `total` books: the charges it collects beyond those booked, then the claim.
    private func increment(_ config: BatchChannelConfig, channel: Hash32, to total: EVM.UInt256, merchant: AccountID, transaction: String)
        async throws -> [NewTransfer]
    {
        try await createAccounts(channel, receiver: config.receiver, merchant: merchant)
        let from = try await store.chargesBooked(channel)
        guard total > from else { return [] }
        return [
            try BatchBookings.charge(asset, channel: channel, merchant: merchant.rawValue, amount: total - from, cumulative: total),
            try BatchBookings.claim(
                asset, channel: channel, receiver: config.receiver, amount: total - from, total: total, transaction: transaction),
        ]
    }

    /// Books `transfers`; a transfer booked before (a repeated `/settle`) is not booked again.
    private func post(_ transfers: [NewTransfer]) async throws {
        guard !transfers.isEmpty else { return }
        for (transfer, result) in zip(transfers, try await store.ledger.post(transfers)) {
            if case .rejected(let error) = result {
                // The chain moved the money: the booking must be repaired by hand, not the answer withheld.
                logger.error("x402 batch booking refused", metadata: ["transfer": "\(transfer.id)", "error": "\(error)"])
            }
        }
    }
}

/// Runs the bookings of claims and refunds one at a time, in the order they came.
actor BatchBookingQueue {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        }
        return try await body()
    }
}
