import EVM
import Foundation
import Ledger

extension X402BatchFacilitator {
    /// Settles a deposit (submits it), a claim batch, a sweep (`settle`) or a cooperative refund
    /// the resource server ordered. A voucher is not settled here: its charge is the server's.
    public func settle(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> SettleResponse {
        let parsed: BatchPayload
        switch admit(payload, requirements) {
        case .failure(let refusal): return failure(refusal.reason, refusal.message)
        case .success(let value): parsed = value
        }
        switch parsed {
        case .deposit(let config, let voucher, let deposit):
            return try await settleDeposit(config, voucher, deposit, requirements)
        case .claim(let claims, let signature):
            return try await claim(claims, signature: signature)
        case .settle(let receiver, let token):
            return try await sweep(receiver: receiver, token: token)
        case .refund(let config, let voucher, _, let order?):
            return try await refund(config, voucher, order)
        case .refund, .voucher:
            return failure(.batchPayloadType, "vouchers are charged by the resource server; a refund needs its order (refundNonce, claims)")
        }
    }

    func failure(_ reason: X402Reason, _ message: String? = nil, payer: Address? = nil, transaction: String = "") -> SettleResponse {
        SettleResponse(
            success: false, errorReason: reason, errorMessage: message ?? reason.rawValue, payer: payer?.checksummed,
            transaction: transaction,
            network: network)
    }

    func settleDeposit(
        _ config: BatchChannelConfig, _ voucher: BatchPayload.Voucher, _ deposit: BatchPayload.Deposit, _ requirements: PaymentRequirements
    ) async throws -> SettleResponse {
        let verdict = try await verifyDeposit(config, voucher, deposit, requirements)
        if let refusal = verdict.refusal { return failure(refusal.reason, refusal.message, payer: config.payer) }
        let call = Self.depositCall(config, deposit)
        let outcome: BatchChain.Outcome
        do {
            outcome = try await chain.send(call, gas: try await chain.simulate(call), kind: .deposit, validBefore: deposit.expiry)
        } catch {
            return failure(.batchDepositTransactionFailed, "\(error)", payer: config.payer)
        }
        switch outcome {
        case .pending(let hash):
            return failure(.settlementPending, "broadcast; no receipt yet", payer: config.payer, transaction: hash.hex)
        case .mined(let receipt) where !receipt.succeeded:
            return failure(
                .batchDepositTransactionFailed, "the deposit reverted", payer: config.payer, transaction: receipt.transactionHash.hex)
        case .mined(let receipt):
            let before = verdict.state ?? BatchChannelState(balance: .zero, totalClaimed: .zero, withdrawRequestedAt: 0, refundNonce: .zero)
            let after =
                (try? await chain.state(voucher.channelID))
                ?? BatchChannelState(
                    balance: before.balance + deposit.amount, totalClaimed: before.totalClaimed,
                    withdrawRequestedAt: before.withdrawRequestedAt,
                    refundNonce: before.refundNonce)
            return SettleResponse(
                success: true, payer: config.payer.checksummed, transaction: receipt.transactionHash.hex, network: network,
                amount: deposit.amount.description, extra: ["channelState": .object(after.json(channelID: voucher.channelID))])
        }
    }

    func claim(_ claims: [BatchPayload.Claim], signature: [UInt8]?) async throws -> SettleResponse {
        guard !claims.isEmpty else { return failure(.batchClaimPayload, "no claims") }
        if signature == nil, claims.contains(where: { $0.config.receiverAuthorizer != configuration.receiverAuthorizer.address }) {
            return failure(.batchAuthorizerAddressMismatch)
        }
        let call = claimCall(claims, signature: signature ?? signClaims(claims))
        let gas: UInt64
        do {
            gas = try await chain.simulate(call)
        } catch {
            return failure(.batchClaimSimulationFailed, "\(error)")
        }
        return try await transact(call, gas: gas, kind: .claim, failed: .batchClaimTransactionFailed, amount: nil)
    }

    func sweep(receiver: Address, token: Address) async throws -> SettleResponse {
        let totals: (claimed: EVM.UInt256, settled: EVM.UInt256)
        do {
            totals = try await chain.receiver(receiver, token: token)
        } catch {
            return failure(.batchRPCReadFailed, "\(error)")
        }
        guard totals.claimed > totals.settled else { return failure(.batchNothingToSettle, "nothing to settle for receiver and token") }
        let call = ABI.encodeCall("settle(address,address)", [.address(receiver), .address(token)])
        let gas: UInt64
        do {
            gas = try await chain.simulate(call)
        } catch {
            return failure(.batchSettleSimulationFailed, "\(error)")
        }
        return try await transact(
            call, gas: gas, kind: .settle, failed: .batchSettleTransactionFailed, amount: totals.claimed - totals.settled)
    }

    /// `refundWithSignature` at the channel's nonce, after its claim when the order has one: both
    /// in one `multicall`, so the claim can never be lost to the refund.
    func refund(_ config: BatchChannelConfig, _ voucher: BatchPayload.Voucher, _ order: BatchPayload.RefundOrder) async throws
        -> SettleResponse
    {
        let id = config.channelID(in: domain)
        guard id == voucher.channelID else { return failure(.batchChannelIDMismatch, payer: config.payer) }
        let before: BatchChannelState
        do {
            before = try await chain.state(id)
        } catch {
            return failure(.batchRefundTransactionFailed, "\(error)", payer: config.payer)
        }
        let claimedAfter = order.claims.filter { $0.config.channelID(in: domain) == id }.map(\.totalClaimed).reduce(before.totalClaimed) {
            max($0, $1)
        }
        guard claimedAfter <= before.balance, order.amount > .zero else { return failure(.batchRefundAmountInvalid, payer: config.payer) }
        let available = before.balance - claimedAfter
        if available == .zero { return failure(.batchRefundNoBalance, "nothing to refund", payer: config.payer) }
        if order.refundSignature == nil || (!order.claims.isEmpty && order.claimSignature == nil),
            config.receiverAuthorizer != configuration.receiverAuthorizer.address
        {
            return failure(.batchAuthorizerAddressMismatch, payer: config.payer)
        }
        let refundSignature =
            order.refundSignature
            ?? configuration.receiverAuthorizer.sign(
                digest: BatchSettlement.refundDigest(channelID: id, nonce: order.nonce, amount: order.amount, domain: domain)
            ).bytes
        let refundCall = ABI.encodeCall(
            "refundWithSignature(\(BatchChannelConfig.abiType),uint128,uint256,bytes)",
            [config.abiValue, .uint(order.amount), .uint(order.nonce), .bytes(refundSignature)])
        var call = refundCall
        if !order.claims.isEmpty {
            let claims = claimCall(order.claims, signature: order.claimSignature ?? signClaims(order.claims))
            call = ABI.encodeCall("multicall(bytes[])", [.array([.bytes(claims), .bytes(refundCall)])])
        }
        let gas: UInt64
        do {
            gas = try await chain.simulate(call)
        } catch {
            return failure(.batchRefundSimulationFailed, "\(error)", payer: config.payer)
        }
        let refunded = min(order.amount, available)
        var response = try await transact(call, gas: gas, kind: .refund, failed: .batchRefundTransactionFailed, amount: refunded)
        guard response.success else { return response }
        response.payer = config.payer.checksummed
        let after = BatchChannelState(
            balance: before.balance - refunded, totalClaimed: claimedAfter, withdrawRequestedAt: 0,
            refundNonce: before.refundNonce + 1)
        response.extra = ["channelState": .object(after.json(channelID: id))]
        return response
    }

    private func transact(_ call: [UInt8], gas: UInt64, kind: X402BatchTransactionStore.Kind, failed: X402Reason, amount: EVM.UInt256?)
        async throws -> SettleResponse
    {
        let outcome: BatchChain.Outcome
        do {
            outcome = try await chain.send(call, gas: gas, kind: kind)
        } catch {
            return failure(failed, "\(error)")
        }
        switch outcome {
        case .pending(let hash): return failure(.settlementPending, "broadcast; no receipt yet", transaction: hash.hex)
        case .mined(let receipt) where !receipt.succeeded:
            return failure(failed, "the transaction reverted", transaction: receipt.transactionHash.hex)
        case .mined(let receipt):
            return SettleResponse(success: true, transaction: receipt.transactionHash.hex, network: network, amount: amount?.description)
        }
    }
}
