import EVM
import Foundation
import Ledger
import Logging
import MPP

extension TempoSessionMethod {
    /// How many times a voucher is checked again after its commit found the channel changed.
    static let conflictRetries = 4

    /// Accepts a voucher on a channel and, when `charge`, charges the request one unit.
    ///
    /// Cheap path: format and monotonicity first (a voucher below the accepted one is refused
    /// without a signature recovery), one recovery against the signer read from chain, then the new
    /// state and the charge are committed together before this returns (``SessionStore/enqueue(_:)``).
    /// The voucher already accepted, paying the same request again, is an idempotent retry: it is
    /// answered with the current state and charged nothing.
    /// - Returns: the channel as committed.
    func accept(
        _ payload: SessionPayload, cumulative: EVM.UInt256, signature: [UInt8], charge: Bool, merchantAccount: String
    ) async throws(PaymentProblem) -> SessionChannel {
        try await cache.checking(payload.channelID) { () async throws(PaymentProblem) -> SessionChannel in
            try await acceptInOrder(payload, cumulative: cumulative, signature: signature, charge: charge, merchantAccount: merchantAccount)
        }
    }

    private func acceptInOrder(
        _ payload: SessionPayload, cumulative: EVM.UInt256, signature: [UInt8], charge: Bool, merchantAccount: String
    ) async throws(PaymentProblem) -> SessionChannel {
        let id = payload.channelID
        for _ in 0..<Self.conflictRetries {
            let current = try await load(id, descriptor: payload.descriptor, merchantAccount: merchantAccount)
            guard cumulative <= current.version.maximumAmount else {
                throw PaymentProblem(.invalidPayload, detail: "cumulativeAmount exceeds uint\(current.version.amountBits).")
            }
            // Refusals that need no signature: compared with what is in flight.
            var recovered = false
            let verdict = try cache.with(id) { entry throws(PaymentProblem) in
                try Self.precheck(
                    entry?.head ?? current, entry?.durable ?? current, cumulative, signature, charge, verified: false, configuration)
            }
            switch verdict {
            case .retry(let channel): return channel
            case .verify, .charge: break
            }
            if case .verify = verdict {
                try verify(current, cumulative: cumulative, signature: signature)
                recovered = true
                try await awaitPredecessor(id, cumulative: cumulative, charge: charge)
            }
            let step = try cache.with(id) { entry throws(PaymentProblem) -> Step in
                guard var e = entry else { return .again }  // dropped meanwhile: start over.
                let head = e.head
                switch try Self.precheck(head, e.durable, cumulative, signature, charge, verified: recovered, configuration) {
                case .retry(let channel): return .answer(channel)
                case .verify where !recovered: return .again
                case .verify, .charge: break
                }
                var next = head
                next.accepted = max(head.accepted, cumulative)
                if cumulative > head.accepted { next.signature = signature }
                if charge {
                    let price = configuration.amountPerUnit
                    guard next.accepted >= head.spent + price else {
                        let shortfall = head.spent + price > head.deposit ? (head.spent + price - head.deposit) : EVM.UInt256.zero
                        throw PaymentProblem(
                            .sessionInsufficientBalance,
                            detail: "The vouchers cover \(next.accepted - head.spent) more; this request costs \(price).",
                            requiredTopUp: shortfall.isZero ? nil : shortfall.description)
                    }
                    next.spent = head.spent + price
                    next.chargedCumulative = cumulative
                }
                guard next.accepted != head.accepted || next.spent != head.spent else { return .again }
                var transfer: NewTransfer?
                if next.spent > head.spent {
                    do throws(LedgerError) {
                        transfer = try SessionStore.charge(
                            channel: id, asset: configuration.asset, merchant: next.merchantAccount, amount: next.spent - head.spent,
                            spentAfter: next.spent, cumulative: cumulative)
                    } catch {
                        throw PaymentProblem(.internalPaymentError, detail: "The merchant account cannot be booked: \(error.message).")
                    }
                }
                let commit = VoucherCommit(
                    channel: id, expected: .init(accepted: head.accepted, spent: head.spent), accepted: next.accepted,
                    signature: next.signature, spent: next.spent, chargedCumulative: next.chargedCumulative, transfer: transfer)
                e.head = next
                entry = e
                // Queued under the channel's lock, right after the commit it was computed from, so a
                // batch always sees a channel's commits as one chain.
                return .commit(commit, store.enqueue(commit))
            }
            let commit: VoucherCommit
            let pending: SessionStore.PendingCommit
            switch step {
            case .answer(let channel): return channel
            case .again: continue  // the channel moved between the checks: check again.
            case .commit(let next, let queued): (commit, pending) = (next, queued)
            }
            switch await pending.outcome() {
            case .committed:
                return try cache.with(id) { entry throws(PaymentProblem) -> SessionChannel in
                    guard var e = entry else {
                        var channel = current
                        (channel.accepted, channel.spent, channel.signature) = (commit.accepted, commit.spent, commit.signature)
                        channel.chargedCumulative = commit.chargedCumulative
                        return channel
                    }
                    if commit.accepted >= e.durable.accepted && commit.spent >= e.durable.spent {
                        (e.durable.accepted, e.durable.spent, e.durable.signature) = (commit.accepted, commit.spent, commit.signature)
                        e.durable.chargedCumulative = commit.chargedCumulative
                    }
                    entry = e
                    var channel = e.durable
                    (channel.accepted, channel.spent) = (commit.accepted, commit.spent)
                    return channel
                }
            case .conflict:
                cache.drop(id)
            case .failed(let message):
                cache.drop(id)
                logger.error("mpp session voucher not committed", metadata: ["channel": "\(id.hex)", "error": "\(message)"])
                throw PaymentProblem(.internalPaymentError, detail: "The voucher could not be recorded; nothing was charged. Retry it.")
            }
        }
        throw PaymentProblem(.internalPaymentError, detail: "The channel kept changing; nothing was charged. Retry the voucher.")
    }

    /// Lets the voucher before this one go first when they race: a charging voucher more than one
    /// unit above the head, while others of the channel are being checked, waits (at most
    /// ``SessionConfiguration/reorderWindow``) for the head to reach the unit below it.
    private func awaitPredecessor(_ id: Hash32, cumulative: EVM.UInt256, charge: Bool) async throws(PaymentProblem) {
        guard charge, let window = configuration.reorderWindow, cache.othersInFlight(id) else { return }
        let price = configuration.amountPerUnit
        guard let head = try cache.with(id, { entry throws(PaymentProblem) in entry?.head.accepted }), cumulative > head + price else {
            return
        }
        let predecessor = cumulative - price
        await cache.wait(id, timeout: window) { entry in entry.map { $0.head.accepted >= predecessor } ?? true }
    }

    /// What the check under the lock decided.
    enum Step {
        /// The commit, queued.
        case commit(VoucherCommit, SessionStore.PendingCommit)
        case answer(SessionChannel)
        case again
    }

    enum Precheck {
        /// The same voucher paid this request already: answer with the channel as it is.
        case retry(SessionChannel)
        /// A new voucher: recover its signer.
        case verify
        /// The accepted voucher (same signature) pays from what it has left.
        case charge
    }

    /// Everything about a voucher that is checked without a signature recovery. `verified`: its
    /// signature was recovered to the channel's signer.
    static func precheck(
        _ head: SessionChannel, _ durable: SessionChannel, _ cumulative: EVM.UInt256, _ signature: [UInt8], _ charge: Bool,
        verified: Bool, _ configuration: SessionConfiguration
    ) throws(PaymentProblem) -> Precheck {
        guard !head.closed, !head.closing, head.closeRequestedAt == 0 else {
            throw PaymentProblem(
                .sessionChannelFinalized,
                detail: head.closed ? "Channel \(head.id.hex) is closed." : "Channel \(head.id.hex) is closing; it takes no more vouchers.")
        }
        if cumulative < head.accepted {
            throw PaymentProblem(
                .sessionDeltaTooSmall, detail: "The voucher (\(cumulative)) is below the accepted cumulative amount (\(head.accepted)).")
        }
        if cumulative == head.accepted {
            // In flight: a concurrent request carries the same voucher; it pays once.
            guard durable.accepted == head.accepted, durable.spent == head.spent else {
                throw PaymentProblem(.credentialReplayed, detail: "This voucher is being used by a concurrent request.")
            }
            // Another encoding of the same voucher (64-byte EIP-2098) is the same voucher once it verifies.
            guard verified || signature == durable.signature else { return .verify }
            if !charge || durable.chargedCumulative == cumulative { return .retry(durable) }
            return .charge
        }
        if cumulative - head.accepted < configuration.minVoucherDelta {
            throw PaymentProblem(
                .sessionDeltaTooSmall, detail: "The voucher raises the cumulative amount by less than \(configuration.minVoucherDelta).")
        }
        if cumulative > head.deposit {
            throw PaymentProblem(
                .sessionAmountExceedsDeposit, detail: "The voucher (\(cumulative)) is above the channel's deposit (\(head.deposit)).",
                requiredTopUp: (cumulative - head.deposit).description)
        }
        return .verify
    }

    /// One signature recovery (low-s) against the channel's signer as read from chain.
    func verify(_ channel: SessionChannel, cumulative: EVM.UInt256, signature: [UInt8]) throws(PaymentProblem) {
        let separator =
            voucherDomains[channel.version].flatMap { $0.escrow == channel.escrow ? $0.separator : nil }
            ?? channel.version.domain(chainID: configuration.chainID, escrow: channel.escrow).separator
        let digest = channel.version.voucherDigest(channelID: channel.id, cumulativeAmount: cumulative, domainSeparator: separator)
        let signer: Address
        do {
            signer = try TempoChannelEscrow.recoverVoucherSigner(signature, digest: digest)
        } catch {
            throw PaymentProblem(.sessionInvalidSignature, detail: "The voucher signature is invalid: \(error.message).")
        }
        guard signer == channel.signer else {
            throw PaymentProblem(.sessionSignerMismatch, detail: "The voucher is not signed by the channel's signer.")
        }
    }

    /// The channel from the cache, else the database, else the chain (a channel opened elsewhere);
    /// its chain state is read again once it is older than the TTL.
    func load(_ id: Hash32, descriptor: TempoChannelDescriptor?, merchantAccount: String) async throws(PaymentProblem) -> SessionChannel {
        if let cached = try cache.with(id, { entry throws(PaymentProblem) in entry?.head }),
            ContinuousClock.now - cached.chainReadAt < configuration.channelStateTTL
        {
            return cached
        }
        var channel: SessionChannel
        do {
            if let stored = try await store.channel(id) {
                channel = stored
            } else {
                channel = try await register(id, descriptor: descriptor, merchantAccount: merchantAccount)
            }
        } catch let problem as PaymentProblem {
            throw problem
        } catch {
            throw Self.internalError("The channel could not be read: \(error).")
        }
        if !channel.closed {
            channel = try await refresh(channel)
        }
        let loaded = channel
        return try cache.with(id) { entry throws(PaymentProblem) in
            // Vouchers in flight keep the entry; its chain view is renewed.
            if var e = entry, e.durable.accepted == loaded.accepted, e.durable.spent == loaded.spent {
                for keyPath in [\SessionChannel.deposit, \SessionChannel.settled] {
                    e.head[keyPath: keyPath] = loaded[keyPath: keyPath]
                    e.durable[keyPath: keyPath] = loaded[keyPath: keyPath]
                }
                e.head.closeRequestedAt = loaded.closeRequestedAt
                e.durable.closeRequestedAt = loaded.closeRequestedAt
                e.head.chainReadAt = loaded.chainReadAt
                entry = e
                return e.head
            }
            entry = ChannelCache.Entry(durable: loaded, head: loaded)
            return loaded
        }
    }

    /// Reads the channel's deposit, settlement and close request from chain and records them.
    func refresh(_ channel: SessionChannel) async throws(PaymentProblem) -> SessionChannel {
        var channel = channel
        let state: SessionChain.State?
        do {
            state = try await chain.channel(channel.id, version: channel.version, escrow: channel.escrow, descriptor: channel.descriptor)
        } catch {
            throw Self.internalError("The escrow could not be read: \(error.message).")
        }
        do {
            guard let state, !state.finalized else {
                try await store.finalized(channel.id)
                channel.closed = true
                return channel
            }
            channel.deposit = state.deposit
            channel.settled = max(channel.settled, state.settled)
            channel.closeRequestedAt = state.closeRequestedAt
            channel.chainReadAt = .now
            try await store.refresh(channel.id, deposit: state.deposit, settled: state.settled, closeRequestedAt: state.closeRequestedAt)
        } catch {
            throw Self.internalError("The channel could not be recorded: \(error).")
        }
        return channel
    }

    /// A channel the server has not seen, read from the escrow (v1 by id, v2 by its descriptor).
    func register(_ id: Hash32, descriptor: TempoChannelDescriptor?, merchantAccount: String) async throws -> SessionChannel {
        for (version, escrow) in configuration.escrows.sorted(by: { $0.key.rawValue > $1.key.rawValue }) {
            if version == .v2, descriptor == nil { continue }
            guard let state = try await chain.channel(id, version: version, escrow: escrow, descriptor: descriptor), !state.finalized else {
                continue
            }
            guard state.descriptor.payee == configuration.recipient, state.descriptor.token == configuration.token else {
                throw PaymentProblem(.sessionChannelNotFound, detail: "Channel \(id.hex) does not pay this server in its currency.")
            }
            let channel = SessionChannel(
                id: id, version: version, escrow: escrow, descriptor: state.descriptor, deposit: state.deposit, settled: state.settled,
                accepted: .zero, signature: [], spent: .zero, chargedCumulative: nil, closeRequestedAt: state.closeRequestedAt,
                closing: false, closed: false, chainReadAt: .now, merchantAccount: merchantAccount)
            return try await store.register(channel, chainID: configuration.chainID, asset: configuration.asset)
        }
        throw Self.unknown(id)
    }
}
