import EVM
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging
import NIOCore
import NIOFoundationCompat
import Paywall

extension X402Middleware {
    /// A request paid with `batch-settlement`: the deposit, voucher or refund is checked under the
    /// channel's lock against the cumulative rule and the chain; the handler runs; only then is the
    /// charged cumulative committed, with its booking, before the response goes out. A deposit is
    /// submitted by the facilitator first, and booked with the charge it pays. A refund runs no
    /// handler: its claim and refund are mined and booked, and it is acknowledged.
    func handleBatch(
        _ payload: PaymentPayload, requirements: PaymentRequirements, route: X402Route, resource: ResourceInfo, request: Request,
        context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let batch else {
            return paymentRequired(route, resource, error: "batch-settlement is not offered here", reason: .unsupportedScheme)
        }
        let parsed: BatchPayload
        do {
            parsed = try BatchPayload.parse(payload.payload)
        } catch {
            return invalid(route, resource, reason: error.reason, message: error.message)
        }
        let config: BatchChannelConfig
        let voucher: BatchPayload.Voucher
        switch parsed {
        case .deposit(let c, let v, _), .voucher(let c, let v), .refund(let c, let v, _, .none):
            config = c
            voucher = v
        case .refund, .claim, .settle:
            return invalid(route, resource, reason: .batchPayloadType, message: "clients send deposit, voucher or refund payloads")
        }
        let facilitator = batch.facilitator
        let id = voucher.channelID
        if config.channelID(in: facilitator.domain) != id {
            return paymentRequired(route, resource, error: "the channel id is not the hash of its config", reason: .batchChannelIDMismatch)
        }
        guard let price = try? EVM.UInt256(decimal: requirements.amount), let merchant = batch.merchant(for: config) else {
            return paymentRequired(route, resource, error: "the channel's receiver is not served here", reason: .batchReceiverMismatch)
        }
        guard batch.reserve(id, seconds: requirements.maxTimeoutSeconds) else {
            return paymentRequired(route, resource, error: "the channel is serving another request", reason: .batchChannelBusy)
        }
        defer { batch.release(id) }

        var refund = false
        if case .refund = parsed { refund = true }
        var deposit = false
        if case .deposit = parsed { deposit = true }
        // A voucher continuing what this process committed last is decided from that (decision
        // 0044); anything else reads the row, and what was kept of the channel is dropped until a
        // voucher commits on it again.
        var record: BatchChannelRecord?
        if !deposit, !refund, let recent = batch.recentChannel(id), voucher.maxClaimable == recent.charged + price {
            record = recent
        } else {
            batch.forget(id)
            record = try await batch.store.channel(id)
        }
        // A stored channel is checked against the chain before anything is decided from it,
        // unless its state is fresh and the voucher continues it (the hot path): a corrective 402
        // or a deposit from a row the chain no longer has would make the payer pay again for
        // charges of a chain that is gone (decision 0038).
        var chainState: BatchChannelState?
        if let stored = record {
            let fresh = batch.isFresh(stored)
            let continues = voucher.maxClaimable == (refund ? stored.charged : stored.charged + price)
            if !fresh || !continues || deposit {
                let state: BatchChannelState
                do {
                    state = try await facilitator.chain.state(id)
                } catch {
                    return paymentRequired(
                        route, resource, error: "the channel's state cannot be read: \(error)", reason: .batchRPCReadFailed)
                }
                chainState = state
                if stored.isSuperseded(by: state) {
                    guard let renewed = try await renew(stored, state: state, merchant: merchant, batch: batch, logger: context.logger)
                    else {
                        return paymentRequired(route, resource, error: "the channel is serving another request", reason: .batchChannelBusy)
                    }
                    record = renewed
                } else {
                    try await batch.store.refresh(id, state)
                    record?.chain = state
                    record?.syncedAt = Date()
                }
            }
        }
        let generation = record?.generation ?? 0
        // Without a record (a channel this server never saw), the voucher is taken at its word
        // for the base, as x402's own server does; the chain then bounds it.
        let base =
            record?.charged ?? (refund ? voucher.maxClaimable : (voucher.maxClaimable >= price ? voucher.maxClaimable - price : .zero))
        let expected = refund ? base : base + price
        guard voucher.maxClaimable == expected else {
            let known =
                record
                ?? BatchChannelRecord(
                    id: id, config: config,
                    chain: BatchChannelState(balance: .zero, totalClaimed: .zero, withdrawRequestedAt: 0, refundNonce: .zero),
                    charged: base, signedMax: voucher.maxClaimable, signature: voucher.signature, claimed: .zero,
                    merchantAccount: merchant.rawValue)
            return corrective(route, resource, requirements, known)
        }

        // Verify: locally against a fresh chain state, else against the chain.
        let verdict: X402BatchFacilitator.Verdict
        switch parsed {
        case .deposit(_, _, let deposit):
            verdict = try await facilitator.verifyDeposit(config, voucher, deposit, requirements, state: chainState)
        default:
            if let record, batch.isFresh(record) {
                var local = X402BatchFacilitator.Verdict(payer: config.payer, state: record.chain, channelID: id)
                if let reason = facilitator.checkConfig(config, id, requirements) ?? facilitator.checkVoucherSignature(config, voucher) {
                    local.refusal = (reason, nil)
                } else if let refusal = X402BatchFacilitator.cumulativeRefusal(voucher.maxClaimable, state: record.chain, refund: refund)
                    ?? (refund ? nil : facilitator.withdrawalRefusal(record.chain, config: config))
                {
                    local.refusal = refusal
                }
                verdict = local
            } else {
                verdict = try await facilitator.verifyVoucher(config, voucher, requirements, refund: refund)
                if let state = verdict.state {
                    if record != nil { try await batch.store.refresh(id, state) }
                    record?.chain = state
                    record?.syncedAt = Date()
                }
            }
        }
        if let refusal = verdict.refusal {
            return paymentRequired(route, resource, error: refusal.message ?? refusal.reason.rawValue, reason: refusal.reason)
        }
        try await batch.createAccounts(id, generation: generation, config: config, merchant: merchant.rawValue)

        if case .refund(_, _, let requested, _) = parsed {
            var stored = record
            if stored == nil { stored = try await batch.store.channel(id) }
            guard var current = stored else {
                return paymentRequired(route, resource, error: "no channel to refund", reason: .batchMissingChannel)
            }
            if let state = verdict.state { current.chain = state }
            return try await refundBatch(
                current, voucher, requested: requested, route: route, resource: resource, requirements: requirements)
        }

        var response = try await next(request, context)
        guard (200..<300).contains(response.status.code) else { return response }
        let body = try await response.body.collect(upTo: configuration.maxResponseBytes)
        let charged = base + price
        let settlement: SettleResponse
        switch parsed {
        case .deposit(_, _, let deposit):
            let settled = try await facilitator.settleDeposit(config, voucher, deposit, requirements)
            guard settled.success else { return failed(settled, route, resource, fallback: .batchDepositTransactionFailed) }
            let after = BatchChannelState(channelState: settled.extra?["channelState"]) ?? verdict.state!
            // A channel this server has no record of may hold funds already (a deposit whose
            // answer was lost, another server's): booked first, from the state before this deposit.
            let opening = record == nil ? try Self.opening(verdict.state!, base: base, channel: id, merchant: merchant, batch: batch) : nil
            let updated = BatchChannelRecord(
                id: id, config: config, chain: after, charged: charged, signedMax: voucher.maxClaimable, signature: voucher.signature,
                claimed: record?.claimed ?? opening?.claimed ?? .zero, merchantAccount: merchant.rawValue, generation: generation)
            let asset = batch.store.assetID
            let transfers =
                (opening?.transfers ?? []) + [
                    try BatchBookings.deposit(
                        asset, channel: id, generation: generation,
                        nonce: deposit.reference(channelID: id), amount: deposit.amount,
                        transaction: settled.transaction),
                    try BatchBookings.charge(
                        asset, channel: id, generation: generation, merchant: merchant.rawValue, amount: price, cumulative: charged),
                ]
            guard try await batch.store.recordDeposit(updated, oldCharged: record?.charged, transfers: transfers) else {
                context.logger.error("x402 batch deposit mined but its channel changed meanwhile", metadata: ["channel": "\(id.hex)"])
                return paymentRequired(route, resource, error: "the channel changed while the deposit was mined", reason: .batchChannelBusy)
            }
            settlement = Self.charged(settled, after, charged: charged, price: requirements.amount, channel: id)
        default:
            var channel: BatchChannelRecord
            if let record {
                channel = record
            } else {
                // A channel funded on chain that this server never saw: registered as it stands.
                let opening = try Self.opening(verdict.state!, base: base, channel: id, merchant: merchant, batch: batch)
                channel = BatchChannelRecord(
                    id: id, config: config, chain: verdict.state!, charged: base, signedMax: base, signature: [], claimed: opening.claimed,
                    merchantAccount: merchant.rawValue)
                _ = try await batch.store.recordDeposit(channel, oldCharged: nil, transfers: opening.transfers)
                channel.syncedAt = Date()
            }
            let committed = try await batch.store.commitVoucher(
                .init(
                    guarded: BatchVoucherGuard(
                        channel: id, oldCharged: base, charged: charged, signedMax: voucher.maxClaimable, signature: voucher.signature),
                    generation: generation,
                    charge: try BatchBookings.charge(
                        batch.store.assetID, channel: id, generation: generation, merchant: merchant.rawValue, amount: price,
                        cumulative: charged)))
            guard committed else {
                // Charged elsewhere meanwhile (another replica): the payer resyncs from the row.
                batch.forget(id)
                if let moved = try? await batch.store.channel(id) { return corrective(route, resource, requirements, moved) }
                return paymentRequired(route, resource, error: "the channel was charged by another request", reason: .batchChannelBusy)
            }
            (channel.charged, channel.signedMax, channel.signature) = (charged, voucher.maxClaimable, voucher.signature)
            batch.remember(channel)
            let answer = SettleResponse(
                success: true, payer: config.payer.lowercased, transaction: "", network: requirements.network, amount: "")
            settlement = Self.charged(answer, verdict.state!, charged: charged, price: requirements.amount, channel: id)
        }
        response.headers[.paymentResponse] = configuration.codec.encode(settlement)
        response.headers[.cacheControl] = "private, no-store"
        response.headers[.accessControlExposeHeaders] = "PAYMENT-RESPONSE, X-PAYMENT-RESPONSE"
        response.headers[.contentLength] = String(body.readableBytes)
        response.body = ResponseBody(byteBuffer: body)
        return response
    }

    /// The bookings of a channel this server first sees, in chain state `state`: what it holds
    /// unclaimed as an opening deposit, and what the voucher's `base` says was charged before as
    /// one charge, so that its accounts still come to zero. `claimed`: what counts as claimed.
    static func opening(
        _ state: BatchChannelState, base: EVM.UInt256, channel: Hash32, generation: Int = 0, merchant: AccountID, batch: X402BatchServer
    ) throws(LedgerError) -> (claimed: EVM.UInt256, transfers: [NewTransfer]) {
        let claimed = min(state.totalClaimed, base)
        let asset = batch.store.assetID
        var transfers: [NewTransfer] = []
        if state.balance > claimed {
            transfers.append(try BatchBookings.opening(asset, channel: channel, generation: generation, amount: state.balance - claimed))
        }
        if base > claimed {
            transfers.append(
                try BatchBookings.charge(
                    asset, channel: channel, generation: generation, merchant: merchant.rawValue, amount: base - claimed, cumulative: base))
        }
        return (claimed, transfers)
    }

    /// The next generation of a stored channel the chain no longer has (decision 0038): its
    /// accounts, then the row restarted from the chain's `state` with what the chain holds
    /// unclaimed booked as its opening. What the earlier generation charged and never claimed is
    /// logged: it can no longer be claimed.
    func renew(_ stored: BatchChannelRecord, state: BatchChannelState, merchant: AccountID, batch: X402BatchServer, logger: Logger)
        async throws -> BatchChannelRecord?
    {
        let generation = stored.generation + 1
        try await batch.createAccounts(stored.id, generation: generation, config: stored.config, merchant: merchant.rawValue)
        let opening = try Self.opening(
            state, base: state.totalClaimed, channel: stored.id, generation: generation, merchant: merchant, batch: batch)
        logger.error(
            "x402 batch channel stored but not on chain: a new generation starts",
            metadata: [
                "channel": "\(stored.id.hex)", "generation": "\(generation)",
                "unclaimed": "\(stored.charged > stored.claimed ? stored.charged - stored.claimed : .zero)",
            ])
        return try await batch.store.renew(stored, state: state, transfers: opening.transfers)
    }

    /// The settle answer of a charge: `chargedAmount` and the channel's state with the new
    /// charged cumulative, which the official client checks against its own.
    static func charged(_ response: SettleResponse, _ state: BatchChannelState, charged: EVM.UInt256, price: String, channel: Hash32)
        -> SettleResponse
    {
        var response = response
        var channelState = state.json(channelID: channel)
        channelState["chargedCumulativeAmount"] = .string(charged.description)
        response.extra = ["channelState": .object(channelState), "chargedAmount": .string(price)]
        return response
    }

    /// The cooperative refund of what the channel holds beyond its charges (or `requested` of
    /// it), with the claim of those charges in the same transaction.
    func refundBatch(
        _ record: BatchChannelRecord, _ voucher: BatchPayload.Voucher, requested: EVM.UInt256?, route: X402Route, resource: ResourceInfo,
        requirements: PaymentRequirements
    ) async throws -> Response {
        guard let batch else { throw HTTPError(.internalServerError) }
        let claimedOnChain = max(record.chain.totalClaimed, record.claimed)
        let remainder = record.chain.balance > record.charged ? record.chain.balance - record.charged : .zero
        if let requested, requested == .zero {
            return paymentRequired(route, resource, error: "the refund amount must be positive", reason: .batchRefundAmountInvalid)
        }
        if remainder == .zero || (requested.map { $0 > remainder } ?? false) {
            return paymentRequired(route, resource, error: "nothing left to refund", reason: .batchRefundNoBalance)
        }
        let amount = requested ?? remainder
        var claims: [BatchPayload.Claim] = []
        if record.charged > claimedOnChain {
            claims.append(
                BatchPayload.Claim(
                    config: record.config, maxClaimable: voucher.maxClaimable, signature: voucher.signature, totalClaimed: record.charged))
        }
        let order = BatchPayload.RefundOrder(amount: amount, nonce: record.chain.refundNonce, claims: claims)
        var settled = try await batch.facilitator.refund(record.config, voucher, order)
        guard settled.success else { return failed(settled, route, resource, fallback: .batchRefundTransactionFailed) }
        let after = BatchChannelState(channelState: settled.extra?["channelState"]) ?? record.chain
        let refunded = settled.amount.flatMap { try? EVM.UInt256(decimal: $0) } ?? amount
        try await batch.store.recordRefund(record, after: after, refunded: refunded, transaction: settled.transaction)
        var channelState = after.json(channelID: record.id)
        channelState["chargedCumulativeAmount"] = .string(record.charged.description)
        settled.extra = ["channelState": .object(channelState)]
        let body = X402HeaderCodec.json(["message": "Refund acknowledged", "channelId": record.id.hex])
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/json", .cacheControl: "private, no-store", .paymentResponse: configuration.codec.encode(settled),
                .accessControlExposeHeaders: "PAYMENT-RESPONSE, X-PAYMENT-RESPONSE",
            ],
            body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    /// A 402 for a deposit or refund the chain did not take, with the facilitator's answer.
    func failed(_ settled: SettleResponse, _ route: X402Route, _ resource: ResourceInfo, fallback: X402Reason) -> Response {
        let reason = settled.errorReason ?? fallback
        var refusal = paymentRequired(route, resource, error: settled.errorMessage ?? reason.rawValue, reason: reason)
        refusal.headers[.paymentResponse] = configuration.codec.encode(settled)
        return refusal
    }

    /// The corrective 402 of a voucher off the cumulative rule: the route's offer with the
    /// channel's state and its last voucher, from which the official client resyncs and pays again.
    func corrective(_ route: X402Route, _ resource: ResourceInfo, _ requirements: PaymentRequirements, _ record: BatchChannelRecord)
        -> Response
    {
        let accepts = route.accepts.map { offer -> PaymentRequirements in
            guard offer.scheme == X402BatchFacilitator.scheme, offer.network == requirements.network else { return offer }
            var corrected = offer
            corrected.extra = (offer.extra ?? [:]).merging(record.corrective) { _, new in new }
            return corrected
        }
        return paymentRequired(
            route, resource, error: "the voucher does not continue the channel's charged cumulative", reason: .batchCumulativeMismatch,
            accepts: accepts)
    }
}

extension BatchChannelState {
    /// Reads a `channelState` snapshot of a settle answer.
    init?(channelState json: JSONValue?) {
        guard let json, let balance = try? BatchPayload.uint(json["balance"]), let claimed = try? BatchPayload.uint(json["totalClaimed"]),
            let nonce = try? BatchPayload.uint(json["refundNonce"])
        else { return nil }
        let requested = (try? BatchPayload.uint(json["withdrawRequestedAt"]))?.uint64 ?? 0
        self.init(balance: balance, totalClaimed: claimed, withdrawRequestedAt: requested, refundNonce: nonce)
    }
}
