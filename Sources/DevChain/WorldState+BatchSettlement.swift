import EVM

/// `x402BatchSettlement`'s functions with its checks, custom errors and events, and its ERC-3009
/// deposit collector. They move token balances, so they run on the whole world state; on revert
/// the world is left untouched.
extension WorldState {
    typealias Batch = BatchSettlementState

    static let batchGas: UInt64 = 48_000
    static let claimRowGas: UInt64 = 31_000

    mutating func executeBatchSettlement(_ calldata: [UInt8], context: CallContext) -> ExecutionOutcome {
        guard var batch = batchSettlement else { return .revertEmpty(gas: Gas.revert) }
        var world = self
        let outcome = world.runBatch(&batch, calldata, context)
        if outcome.succeeded {
            world.batchSettlement = batch
            self = world
        }
        return outcome
    }

    private mutating func runBatch(_ b: inout Batch, _ calldata: [UInt8], _ c: CallContext) -> ExecutionOutcome {
        guard calldata.count >= 4 else { return .revertEmpty(gas: Gas.revert) }
        typealias S = Batch.Selector
        let selector = Array(calldata[0..<4])
        let arguments = calldata[4...]
        let config = BatchChannelConfig.abiType
        let amount = ABIType.uint(bits: 128)
        func decode(_ types: [ABIType]) -> [ABIValue]? { try? ABI.decode(types, from: arguments) }
        func view(_ values: [ABIValue]) -> ExecutionOutcome { .success(ABI.encode(values), gas: Gas.view) }
        func word(_ hash: Hash32) -> ExecutionOutcome { .success(hash.bytes, gas: Gas.view) }

        switch selector {
        case S.multicall:
            // OpenZeppelin's Multicall: delegatecalls to itself, in order, all or nothing.
            guard let a = decode([.array(.bytes)]) else { break }
            var results: [ABIValue] = []
            var logs: [DevChainLog] = []
            var gas: UInt64 = 0
            for data in a[0].elements! {
                let outcome = runBatch(&b, data.bytes!, c)
                gas += outcome.gas
                guard outcome.succeeded else { return ExecutionOutcome(succeeded: false, output: outcome.output, logs: [], gas: gas) }
                logs += outcome.logs
                results.append(.bytes(outcome.output))
            }
            return .success(ABI.encode([.array(results)]), logs: logs, gas: gas)

        case S.deposit:
            guard let a = decode([config, amount, .address, .bytes]), let cfg = BatchChannelConfig(abiValue: a[0]) else { break }
            return deposit(&b, cfg, amount: a[1].uint!, collector: a[2].address!, collectorData: a[3].bytes!, c)
        case S.claim, S.claimWithSignature:
            let withSignature = selector == S.claimWithSignature
            guard let a = decode([Batch.voucherClaimsType] + (withSignature ? [.bytes] : [])), let rows = Self.voucherClaims(a[0]) else {
                break
            }
            return claim(&b, rows, authorizerSignature: withSignature ? a[1].bytes! : nil, c)
        case S.settle:
            guard let a = decode([.address, .address]) else { break }
            return settle(&b, receiver: a[0].address!, token: a[1].address!, c)
        case S.initiateWithdraw:
            guard let a = decode([config, amount]), let cfg = BatchChannelConfig(abiValue: a[0]) else { break }
            return initiateWithdraw(&b, cfg, amount: a[1].uint!, c)
        case S.finalizeWithdraw:
            guard let a = decode([config]), let cfg = BatchChannelConfig(abiValue: a[0]) else { break }
            return finalizeWithdraw(&b, cfg, c)
        case S.refund:
            guard let a = decode([config, amount]), let cfg = BatchChannelConfig(abiValue: a[0]) else { break }
            guard c.sender == cfg.receiverAuthorizer || c.sender == cfg.receiver else {
                return .customError(Batch.Failure.notAuthorizedToRefund, [], gas: Gas.revert)
            }
            return executeRefund(&b, cfg, amount: a[1].uint!, c)
        case S.refundWithSignature:
            guard let a = decode([config, amount, .uint256, .bytes]), let cfg = BatchChannelConfig(abiValue: a[0]) else { break }
            let id = b.channelID(cfg)
            guard a[2].uint! == b.refundNonces[id, default: .zero] else {
                return .customError(Batch.Failure.invalidRefundNonce, [], gas: Gas.revert)
            }
            let digest = BatchSettlement.refundDigest(channelID: id, nonce: a[2].uint!, amount: a[1].uint!, domain: b.domain)
            guard Self.signatureIsValid(signer: cfg.receiverAuthorizer, digest: digest, signature: a[3].bytes!) else {
                return .customError(Batch.Failure.invalidSignature, [], gas: Gas.revert)
            }
            return executeRefund(&b, cfg, amount: a[1].uint!, c)

        case S.getChannelId:
            guard let a = decode([config]), let cfg = BatchChannelConfig(abiValue: a[0]) else { break }
            return word(b.channelID(cfg))
        case S.channels:
            guard let a = decode([.bytes32]) else { break }
            let channel = b.channels[a[0].bytes32!] ?? .init()
            return view([.uint(channel.balance), .uint(channel.totalClaimed)])
        case S.pendingWithdrawals:
            guard let a = decode([.bytes32]) else { break }
            let pending = b.pendingWithdrawals[a[0].bytes32!] ?? .init()
            return view([.uint(pending.amount), .uint(UInt256(pending.initiatedAt))])
        case S.receivers:
            guard let a = decode([.address, .address]) else { break }
            let totals = b.receivers[.init(receiver: a[0].address!, token: a[1].address!)] ?? .init()
            return view([.uint(totals.totalClaimed), .uint(totals.totalSettled)])
        case S.refundNonce:
            guard let a = decode([.bytes32]) else { break }
            return view([.uint(b.refundNonces[a[0].bytes32!, default: .zero])])
        case S.getVoucherDigest:
            guard let a = decode([.bytes32, amount]) else { break }
            return word(BatchSettlement.voucherDigest(channelID: a[0].bytes32!, maxClaimableAmount: a[1].uint!, domain: b.domain))
        case S.getRefundDigest:
            guard let a = decode([.bytes32, .uint256, amount]) else { break }
            return word(BatchSettlement.refundDigest(channelID: a[0].bytes32!, nonce: a[1].uint!, amount: a[2].uint!, domain: b.domain))
        case S.getClaimBatchDigest:
            guard let a = decode([Batch.voucherClaimsType]), let rows = Self.voucherClaims(a[0]) else { break }
            return word(BatchSettlement.claimBatchDigest(rows.map { $0.entry(in: b) }, domain: b.domain))
        case S.minWithdrawDelay: return view([.uint(UInt256(BatchSettlement.withdrawDelayRange.lowerBound))])
        case S.maxWithdrawDelay: return view([.uint(UInt256(BatchSettlement.withdrawDelayRange.upperBound))])
        case S.channelConfigTypeHash: return word(BatchChannelConfig.typeHash)
        case S.voucherTypeHash: return word(BatchSettlement.voucherTypeHash)
        case S.refundTypeHash: return word(BatchSettlement.refundTypeHash)
        case S.claimEntryTypeHash: return word(BatchSettlement.claimEntryTypeHash)
        case S.claimBatchTypeHash: return word(BatchSettlement.claimBatchTypeHash)
        default:
            break
        }
        return .revertEmpty(gas: Gas.revert)
    }

    /// A revert raised inside a helper, carried out as a `Result` failure.
    struct Reverted: Error {
        var outcome: ExecutionOutcome
        init(_ outcome: ExecutionOutcome) { self.outcome = outcome }
    }

    /// One `VoucherClaim`: a payer-signed ceiling and the cumulative amount the receiver claims.
    struct VoucherClaim {
        var config: BatchChannelConfig
        var maxClaimableAmount: UInt256
        var signature: [UInt8]
        var totalClaimed: UInt256

        func entry(in b: Batch) -> BatchSettlement.ClaimEntry {
            .init(channelID: b.channelID(config), maxClaimableAmount: maxClaimableAmount, totalClaimed: totalClaimed)
        }
    }

    private static func voucherClaims(_ value: ABIValue) -> [VoucherClaim]? {
        var rows: [VoucherClaim] = []
        for element in value.elements ?? [] {
            guard let row = element.elements, let voucher = row[0].elements, let config = BatchChannelConfig(abiValue: voucher[0]) else {
                return nil
            }
            rows.append(.init(config: config, maxClaimableAmount: voucher[1].uint!, signature: row[1].bytes!, totalClaimed: row[2].uint!))
        }
        return rows
    }

    // MARK: Deposits

    private mutating func deposit(
        _ b: inout Batch, _ cfg: BatchChannelConfig, amount: UInt256, collector: Address, collectorData: [UInt8], _ c: CallContext
    ) -> ExecutionOutcome {
        typealias F = Batch.Failure
        guard cfg.payer != .zero, cfg.receiver != .zero, cfg.receiverAuthorizer != .zero, cfg.token != .zero else {
            return .customError(F.invalidChannel, [], gas: Gas.revert)
        }
        guard BatchSettlement.withdrawDelayRange.contains(cfg.withdrawDelay) else {
            return .customError(F.withdrawDelayOutOfRange, [], gas: Gas.revert)
        }
        guard !amount.isZero else { return .customError(F.zeroDeposit, [], gas: Gas.revert) }
        guard collector != .zero else { return .customError(F.invalidCollector, [], gas: Gas.revert) }
        let id = b.channelID(cfg)
        var channel = b.channels[id] ?? .init()
        guard amount <= BatchSettlement.maxAmount - channel.balance else { return .customError(F.depositOverflow, [], gas: Gas.revert) }
        channel.balance = channel.balance + amount
        // `balanceOf` on an address without code reverts without data, as does calling a collector
        // that is not deployed (the ERC-3009 collector, and the Permit2 one beside Permit2).
        guard let before = tokens[cfg.token]?.balance(of: b.address), hasCode(collector),
            collector == BatchSettlement.erc3009DepositCollector || collector == BatchSettlement.permit2DepositCollector
        else { return .revertEmpty(gas: Gas.revert) }
        let collected =
            collector == BatchSettlement.erc3009DepositCollector
            ? collectERC3009(b, cfg, amount: amount, channelID: id, collectorData: collectorData, c)
            : collectPermit2(b, cfg, amount: amount, channelID: id, collectorData: collectorData, c)
        guard collected.succeeded else { return collected }
        guard tokens[cfg.token]?.balance(of: b.address) == before + amount else {
            return .customError(F.depositCollectionFailed, [], gas: Gas.revert)
        }
        b.channels[id] = channel
        var logs = collected.logs
        if channel.balance == amount && channel.totalClaimed.isZero {
            logs.append(b.log(Batch.Event.channelCreated, indexed: [id], data: cfg.abiValue.elements!))
        }
        logs.append(b.log(Batch.Event.deposited, indexed: [id, c.sender.word], data: [.uint(amount), .uint(channel.balance)]))
        return .success([], logs: logs, gas: Self.batchGas + collected.gas)
    }

    /// `ERC3009DepositCollector.collect`: `receiveWithAuthorization` from the payer to the collector
    /// with nonce `keccak256(abi.encode(channelId, salt))`, then a transfer on to the settlement contract.
    private mutating func collectERC3009(
        _ b: Batch, _ cfg: BatchChannelConfig, amount: UInt256, channelID: Hash32, collectorData: [UInt8], _ c: CallContext
    ) -> ExecutionOutcome {
        guard let data = try? ABI.decode([.uint256, .uint256, .uint256, .bytes], from: collectorData) else {
            return .revertEmpty(gas: Gas.revert)
        }
        let collector = BatchSettlement.erc3009DepositCollector
        let nonce = BatchSettlement.erc3009DepositNonce(channelID: channelID, salt: data[2].uint!)
        let context = CallContext(sender: collector, timestamp: c.timestamp, chainID: c.chainID)
        let received = call(
            cfg.token,
            ABI.encodeCall(
                "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)",
                [.address(cfg.payer), .address(collector), .uint(amount), data[0], data[1], .bytes32(nonce), data[3]]),
            context: context)
        guard received.succeeded else { return received }
        let forwarded = call(
            cfg.token, ABI.encodeCall("transfer(address,uint256)", [.address(b.address), .uint(amount)]), context: context)
        guard forwarded.succeeded else { return forwarded }
        return .success([], logs: received.logs + forwarded.logs, gas: received.gas + forwarded.gas)
    }

    // MARK: Claims and settlement

    private mutating func claim(_ b: inout Batch, _ rows: [VoucherClaim], authorizerSignature: [UInt8]?, _ c: CallContext)
        -> ExecutionOutcome
    {
        typealias F = Batch.Failure
        guard let first = rows.first else { return .customError(F.emptyBatch, [], gas: Gas.revert) }
        if let authorizerSignature {
            let digest = BatchSettlement.claimBatchDigest(rows.map { $0.entry(in: b) }, domain: b.domain)
            guard Self.signatureIsValid(signer: first.config.receiverAuthorizer, digest: digest, signature: authorizerSignature) else {
                return .customError(F.invalidSignature, [], gas: Gas.revert)
            }
        }
        var logs: [DevChainLog] = []
        for row in rows {
            if authorizerSignature != nil {
                guard row.config.receiverAuthorizer == first.config.receiverAuthorizer else {
                    return .customError(F.notReceiverAuthorizer, [], gas: Gas.revert)
                }
            } else {
                guard c.sender == row.config.receiverAuthorizer || c.sender == row.config.receiver else {
                    return .customError(F.notAuthorizedToClaim, [], gas: Gas.revert)
                }
            }
            switch processClaim(&b, row, c) {
            case .failure(let revert): return revert.outcome
            case .success(let log): logs += log.map { [$0] } ?? []
            }
        }
        return .success([], logs: logs, gas: Self.batchGas + Self.claimRowGas * UInt64(rows.count))
    }

    /// Applies one row: a cumulative total at or below what is claimed is a no-op (replay-safe).
    private func processClaim(_ b: inout Batch, _ row: VoucherClaim, _ c: CallContext) -> Result<DevChainLog?, Reverted> {
        typealias F = Batch.Failure
        let id = b.channelID(row.config)
        var channel = b.channels[id] ?? .init()
        guard row.totalClaimed > channel.totalClaimed else { return .success(nil) }
        guard row.totalClaimed <= row.maxClaimableAmount else {
            return .failure(Reverted(.customError(F.claimExceedsCeiling, [], gas: Gas.revert)))
        }
        guard row.totalClaimed <= channel.balance else {
            return .failure(Reverted(.customError(F.claimExceedsBalance, [], gas: Gas.revert)))
        }
        let digest = BatchSettlement.voucherDigest(channelID: id, maxClaimableAmount: row.maxClaimableAmount, domain: b.domain)
        if row.config.payerAuthorizer != .zero {
            switch Self.recover(digest: digest, signature: row.signature) {
            case .failure(let revert): return .failure(revert)
            case .success(let signer):
                guard signer == row.config.payerAuthorizer else {
                    return .failure(Reverted(.customError(F.invalidSignature, [], gas: Gas.revert)))
                }
            }
        } else {
            guard Self.signatureIsValid(signer: row.config.payer, digest: digest, signature: row.signature) else {
                return .failure(Reverted(.customError(F.invalidSignature, [], gas: Gas.revert)))
            }
        }
        let delta = row.totalClaimed - channel.totalClaimed
        channel.totalClaimed = row.totalClaimed
        b.channels[id] = channel
        let key = Batch.ReceiverKey(receiver: row.config.receiver, token: row.config.token)
        b.receivers[key, default: .init()].totalClaimed = b.receivers[key, default: .init()].totalClaimed + delta
        return .success(b.log(Batch.Event.claimed, indexed: [id, c.sender.word], data: [.uint(delta), .uint(row.totalClaimed)]))
    }

    /// Sweeps what claims credited `receiver` in `token` and was not paid yet (nothing: no event).
    private mutating func settle(_ b: inout Batch, receiver: Address, token: Address, _ c: CallContext) -> ExecutionOutcome {
        let key = Batch.ReceiverKey(receiver: receiver, token: token)
        var totals = b.receivers[key] ?? .init()
        let amount = totals.totalClaimed - totals.totalSettled
        guard !amount.isZero else { return .success(gas: Gas.view) }
        totals.totalSettled = totals.totalClaimed
        b.receivers[key] = totals
        let paid = pay(b, token: token, to: receiver, amount: amount, c)
        guard paid.succeeded else { return paid }
        let settled = b.log(Batch.Event.settled, indexed: [receiver.word, token.word, c.sender.word], data: [.uint(amount)])
        return .success([], logs: paid.logs + [settled], gas: Self.batchGas)
    }

    // MARK: Withdrawals and refunds

    private func initiateWithdraw(_ b: inout Batch, _ cfg: BatchChannelConfig, amount: UInt256, _ c: CallContext) -> ExecutionOutcome {
        typealias F = Batch.Failure
        guard c.sender == cfg.payer || c.sender == cfg.payerAuthorizer else { return .customError(F.invalidChannel, [], gas: Gas.revert) }
        guard !amount.isZero else { return .customError(F.nothingToWithdraw, [], gas: Gas.revert) }
        let id = b.channelID(cfg)
        guard (b.pendingWithdrawals[id]?.initiatedAt ?? 0) == 0 else {
            return .customError(F.withdrawalAlreadyPending, [], gas: Gas.revert)
        }
        let channel = b.channels[id] ?? .init()
        guard amount <= channel.balance - channel.totalClaimed else {
            return .customError(F.withdrawAmountExceedsAvailable, [], gas: Gas.revert)
        }
        b.pendingWithdrawals[id] = .init(amount: amount, initiatedAt: c.timestamp)
        let finalizeAfter = UInt256(c.timestamp + cfg.withdrawDelay)
        return .success(
            [], logs: [b.log(Batch.Event.withdrawInitiated, indexed: [id], data: [.uint(amount), .uint(finalizeAfter)])], gas: Self.batchGas
        )
    }

    private mutating func finalizeWithdraw(_ b: inout Batch, _ cfg: BatchChannelConfig, _ c: CallContext) -> ExecutionOutcome {
        typealias F = Batch.Failure
        guard c.sender == cfg.payer || c.sender == cfg.payerAuthorizer else {
            return .customError(F.notAuthorizedToFinalizeWithdraw, [], gas: Gas.revert)
        }
        let id = b.channelID(cfg)
        guard let pending = b.pendingWithdrawals[id], pending.initiatedAt != 0 else {
            return .customError(F.withdrawalNotPending, [], gas: Gas.revert)
        }
        guard c.timestamp >= pending.initiatedAt + cfg.withdrawDelay else {
            return .customError(F.withdrawDelayNotElapsed, [], gas: Gas.revert)
        }
        var channel = b.channels[id] ?? .init()
        let amount = min(pending.amount, channel.balance - channel.totalClaimed)
        b.pendingWithdrawals[id] = nil
        channel.balance = channel.balance - amount
        b.channels[id] = channel
        var logs = [b.log(Batch.Event.withdrawFinalized, indexed: [id, c.sender.word], data: [.uint(amount)])]
        if channel.balance.isZero && channel.totalClaimed.isZero {
            logs.append(b.log(Batch.Event.channelClosed, indexed: [id], data: cfg.abiValue.elements!))
        }
        if !amount.isZero {
            let paid = pay(b, token: cfg.token, to: cfg.payer, amount: amount, c)
            guard paid.succeeded else { return paid }
            logs += paid.logs
        }
        return .success([], logs: logs, gas: Self.batchGas)
    }

    /// The cooperative refund shared by `refund` and `refundWithSignature`: the nonce advances even
    /// when nothing is left to refund; the amount is capped to the unclaimed balance.
    private mutating func executeRefund(_ b: inout Batch, _ cfg: BatchChannelConfig, amount: UInt256, _ c: CallContext) -> ExecutionOutcome
    {
        guard !amount.isZero else { return .customError(Batch.Failure.zeroRefund, [], gas: Gas.revert) }
        let id = b.channelID(cfg)
        b.refundNonces[id, default: .zero] = b.refundNonces[id, default: .zero].addingReportingOverflow(1).partialValue
        var channel = b.channels[id] ?? .init()
        let refunded = min(amount, channel.balance - channel.totalClaimed)
        guard !refunded.isZero else { return .success(gas: Self.batchGas) }
        channel.balance = channel.balance - refunded
        b.channels[id] = channel
        if var pending = b.pendingWithdrawals[id], pending.initiatedAt != 0 {
            if refunded >= pending.amount {
                b.pendingWithdrawals[id] = nil
            } else {
                pending.amount = pending.amount - refunded
                b.pendingWithdrawals[id] = pending
            }
        }
        var logs = [b.log(Batch.Event.refunded, indexed: [id, c.sender.word], data: [.uint(refunded)])]
        if channel.balance.isZero && channel.totalClaimed.isZero {
            logs.append(b.log(Batch.Event.channelClosed, indexed: [id], data: cfg.abiValue.elements!))
        }
        let paid = pay(b, token: cfg.token, to: cfg.payer, amount: refunded, c)
        guard paid.succeeded else { return paid }
        return .success([], logs: logs + paid.logs, gas: Self.batchGas)
    }

    /// `SafeERC20.safeTransfer` out of the settlement contract.
    private mutating func pay(_ b: Batch, token: Address, to: Address, amount: UInt256, _ c: CallContext) -> ExecutionOutcome {
        guard tokens[token] != nil else { return .revertEmpty(gas: Gas.revert) }
        let context = CallContext(sender: b.address, timestamp: c.timestamp, chainID: c.chainID)
        return call(token, ABI.encodeCall("transfer(address,uint256)", [.address(to), .uint(amount)]), context: context)
    }

    // MARK: Signatures

    /// OpenZeppelin's `ECDSA.recover`, which reverts on a malformed signature.
    private static func recover(digest: Hash32, signature: [UInt8]) -> Result<Address, Reverted> {
        typealias F = Batch.Failure
        guard signature.count == 65 else {
            return .failure(
                Reverted(.customError(F.ecdsaInvalidSignatureLength, [.uint(UInt256(UInt64(signature.count)))], gas: Gas.revert)))
        }
        let s = try! Hash32(bytes: signature[32..<64])
        guard s.uint256 <= Secp256k1Order.half else {
            return .failure(Reverted(.customError(F.ecdsaInvalidSignatureS, [.bytes32(s)], gas: Gas.revert)))
        }
        guard signature[64] == 27 || signature[64] == 28, let parsed = try? Signature(bytes: signature),
            let signer = try? parsed.recoverAddress(from: digest)
        else { return .failure(Reverted(.customError(F.ecdsaInvalidSignature, [], gas: Gas.revert))) }
        return .success(signer)
    }

    /// `SignatureChecker.isValidSignatureNow` for the dev chain's accounts, which are all EOAs: a
    /// well-formed ECDSA signature by `signer` (no revert, just false otherwise).
    static func signatureIsValid(signer: Address, digest: Hash32, signature: [UInt8]) -> Bool {
        guard case .success(let recovered) = recover(digest: digest, signature: signature) else { return false }
        return recovered == signer
    }
}
