import EVM

/// The session escrows' functions. They move TIP-20 balances, so they run on the whole world state;
/// on revert the world is left untouched.
extension WorldState {
    typealias Escrow = ChannelEscrowState

    static let escrowGas: UInt64 = 45_000

    mutating func executeEscrow(at address: Address, _ calldata: [UInt8], context: Escrow.CallContext) -> ExecutionOutcome {
        guard var escrow = escrows[address], calldata.count >= 4 else { return .revertEmpty(gas: Gas.revert) }
        var world = self
        let outcome = world.runEscrow(&escrow, Array(calldata[0..<4]), calldata[4...], context)
        if outcome.succeeded {
            world.escrows[address] = escrow
            self = world
        }
        return outcome
    }

    private mutating func runEscrow(
        _ e: inout Escrow, _ selector: [UInt8], _ arguments: ArraySlice<UInt8>, _ c: Escrow.CallContext
    ) -> ExecutionOutcome {
        typealias S = Escrow.Selector
        let amount = ABIType.uint(bits: e.version.amountBits)
        let descriptor = TempoChannelDescriptor.abiTypes
        func decode(_ types: [ABIType]) -> [ABIValue]? { try? ABI.decode(types, from: arguments) }
        func view(_ values: [ABIValue]) -> ExecutionOutcome { .success(ABI.encode(values), gas: Gas.view) }

        switch (e.version, selector) {
        case (_, S.domainSeparator): return .success(e.domain.separator.bytes, gas: Gas.view)
        case (_, S.closeGracePeriod): return view([.uint(UInt256(Escrow.closeGracePeriod))])
        case (_, S.voucherTypeHash): return .success(e.version.voucherTypeHash.bytes, gas: Gas.view)

        case (.v1, S.v1Open):
            guard let a = decode([.address, .address, amount, .bytes32, .address]) else { break }
            let d = TempoChannelDescriptor(
                payer: c.sender, payee: a[0].address!, operator: .zero, token: a[1].address!, salt: a[3].bytes32!,
                authorizedSigner: a[4].address!, expiringNonceHash: .zero)
            let id = TempoChannelEscrow.v1ChannelID(
                payer: d.payer, payee: d.payee, token: d.token, salt: d.salt, authorizedSigner: d.authorizedSigner, escrow: e.address,
                chainID: c.chainID)
            return open(&e, id: id, descriptor: d, deposit: a[2].uint!, c)
        case (.v2, S.v2Open):
            guard let a = decode([.address, .address, .address, amount, .bytes32, .address]) else { break }
            guard let nonceHash = c.expiringNonceHash else {
                return .customError(Escrow.Failure.expiringNonceHashNotSet, [], gas: Gas.revert)
            }
            let d = TempoChannelDescriptor(
                payer: c.sender, payee: a[0].address!, operator: a[1].address!, token: a[2].address!, salt: a[4].bytes32!,
                authorizedSigner: a[5].address!, expiringNonceHash: nonceHash)
            guard !a[3].uint!.isZero else { return .customError(Escrow.Failure.zeroDeposit, [], gas: Gas.revert) }
            guard d.payee != .zero, !d.payee.bytes.starts(with: [0x20, 0xc0]) else {
                return .customError(Escrow.Failure.invalidPayee, [], gas: Gas.revert)
            }
            return open(&e, id: d.channelID(escrow: e.address, chainID: c.chainID), descriptor: d, deposit: a[3].uint!, c)

        case (.v1, S.v1Settle), (.v1, S.v1Close):
            guard let a = decode([.bytes32, amount, .bytes]) else { break }
            let cumulative = a[1].uint!
            let close = selector == S.v1Close
            return settle(
                &e, id: a[0].bytes32!, cumulative: cumulative, capture: close ? nil : cumulative, signature: a[2].bytes!, close: close, c)
        case (.v2, S.v2Settle):
            guard let a = decode(descriptor + [amount, .bytes]) else { break }
            let id = TempoChannelDescriptor(abiValues: a).channelID(escrow: e.address, chainID: c.chainID)
            return settle(&e, id: id, cumulative: a[7].uint!, capture: a[7].uint!, signature: a[8].bytes!, close: false, c)
        case (.v2, S.v2Close):
            guard let a = decode(descriptor + [amount, amount, .bytes]) else { break }
            let id = TempoChannelDescriptor(abiValues: a).channelID(escrow: e.address, chainID: c.chainID)
            return settle(&e, id: id, cumulative: a[7].uint!, capture: a[8].uint!, signature: a[9].bytes!, close: true, c)

        case (.v1, S.v1TopUp):
            guard let a = decode([.bytes32, amount]) else { break }
            return topUp(&e, id: a[0].bytes32!, amount: a[1].uint!, c)
        case (.v2, S.v2TopUp):
            guard let a = decode(descriptor + [amount]) else { break }
            return topUp(
                &e, id: TempoChannelDescriptor(abiValues: a).channelID(escrow: e.address, chainID: c.chainID), amount: a[7].uint!, c)

        case (.v1, S.v1RequestClose), (.v1, S.v1Withdraw):
            guard let a = decode([.bytes32]) else { break }
            return payerClose(&e, id: a[0].bytes32!, withdraw: selector == S.v1Withdraw, c)
        case (.v2, S.v2RequestClose), (.v2, S.v2Withdraw):
            guard let a = decode(descriptor) else { break }
            let id = TempoChannelDescriptor(abiValues: a).channelID(escrow: e.address, chainID: c.chainID)
            return payerClose(&e, id: id, withdraw: selector == S.v2Withdraw, c)

        case (.v1, S.v1GetChannel):
            guard let a = decode([.bytes32]) else { break }
            let channel = e.channels[a[0].bytes32!]
            let d = channel?.descriptor
            return view([
                .address(d?.payer ?? .zero), .address(d?.payee ?? .zero), .address(d?.token ?? .zero),
                .address(d?.authorizedSigner ?? .zero),
                .uint(channel?.deposit ?? .zero), .uint(channel?.settled ?? .zero), .uint(UInt256(channel?.closeRequestedAt ?? 0)),
                .bool(channel?.finalized ?? false),
            ])
        case (.v2, S.v2GetChannel):
            guard let a = decode(descriptor) else { break }
            let d = TempoChannelDescriptor(abiValues: a)
            let channel = e.channels[d.channelID(escrow: e.address, chainID: c.chainID)]
            return view(d.abiValues + Self.state(channel))
        case (.v2, S.v2GetChannelState):
            guard let a = decode([.bytes32]) else { break }
            return view(Self.state(e.channels[a[0].bytes32!]))
        case (.v1, S.v1ComputeChannelID):
            guard let a = decode([.address, .address, .address, .bytes32, .address]) else { break }
            let id = TempoChannelEscrow.v1ChannelID(
                payer: a[0].address!, payee: a[1].address!, token: a[2].address!, salt: a[3].bytes32!, authorizedSigner: a[4].address!,
                escrow: e.address, chainID: c.chainID)
            return .success(id.bytes, gas: Gas.view)
        case (.v2, S.v2ComputeChannelID):
            guard let a = decode(descriptor) else { break }
            return .success(TempoChannelDescriptor(abiValues: a).channelID(escrow: e.address, chainID: c.chainID).bytes, gas: Gas.view)
        case (.v1, S.v1VoucherDigest), (.v2, S.v2VoucherDigest):
            guard let a = decode([.bytes32, amount]) else { break }
            return .success(
                e.version.voucherDigest(channelID: a[0].bytes32!, cumulativeAmount: a[1].uint!, domain: e.domain).bytes, gas: Gas.view)
        default:
            break
        }
        return .revertEmpty(gas: Gas.revert)
    }

    private static func state(_ channel: Escrow.Channel?) -> [ABIValue] {
        [.uint(channel?.settled ?? .zero), .uint(channel?.deposit ?? .zero), .uint(UInt256(channel?.closeRequestedAt ?? 0))]
    }

    /// Moves a TIP-20 amount; `pull` takes it from the payer into the escrow (v1 needs an allowance,
    /// the enshrined v2 reserve does not).
    private mutating func move(
        _ e: Escrow, token: Address, from: Address, to: Address, amount: UInt256, needsAllowance: Bool
    ) -> ExecutionOutcome {
        guard var state = tokens[token], state.configuration.isTIP20 else {
            return .customError(Escrow.Failure.transferFailed, [], gas: Gas.revert)
        }
        if needsAllowance {
            let allowed = state.allowance(owner: from, spender: e.address)
            guard amount <= allowed else { return .customError(TokenState.TIP20Error.insufficientAllowance, [], gas: Gas.revert) }
            if allowed != .max { state.allowances[from, default: [:]][e.address] = allowed - amount }
        }
        let outcome = state.tip20Transfer(from: from, to: to, amount: amount, memo: nil, output: [])
        if outcome.succeeded { tokens[token] = state }
        return outcome
    }

    private mutating func open(
        _ e: inout Escrow, id: Hash32, descriptor d: TempoChannelDescriptor, deposit: UInt256, _ c: Escrow.CallContext
    ) -> ExecutionOutcome {
        guard e.channels[id] == nil else { return .customError(Escrow.Failure.channelAlreadyExists, [], gas: Gas.revert) }
        let pulled = move(e, token: d.token, from: d.payer, to: e.address, amount: deposit, needsAllowance: e.version == .v1)
        guard pulled.succeeded else { return pulled }
        let channel = Escrow.Channel(descriptor: d, deposit: deposit)
        e.channels[id] = channel
        let data: [ABIValue] =
            e.version == .v1
            ? [.address(d.token), .address(d.authorizedSigner), .uint(deposit)]
            : [
                .address(d.operator), .address(d.token), .address(d.authorizedSigner), .bytes32(d.salt), .bytes32(d.expiringNonceHash),
                .uint(deposit),
            ]
        return .success(id.bytes, logs: pulled.logs + [e.log(.channelOpened, channel, id: id, data: data)], gas: Self.escrowGas)
    }

    /// The revert for a call naming a missing (or, v1, finalized) channel; nil when it is open.
    private func missing(_ e: Escrow, _ id: Hash32) -> ExecutionOutcome? {
        guard let channel = e.channels[id] else { return .customError(Escrow.Failure.channelNotFound, [], gas: Gas.revert) }
        guard !channel.finalized else { return .customError(Escrow.Failure.channelFinalized, [], gas: Gas.revert) }
        return nil
    }

    /// `settle` (pays up to `cumulative`) and payee-side `close` (pays up to `capture`, refunds the rest).
    private mutating func settle(
        _ e: inout Escrow, id: Hash32, cumulative: UInt256, capture: UInt256?, signature: [UInt8], close: Bool, _ c: Escrow.CallContext
    ) -> ExecutionOutcome {
        if let revert = missing(e, id) { return revert }
        var channel = e.channels[id]!
        let d = channel.descriptor
        if e.version == .v1 {
            guard c.sender == d.payee else { return .customError(Escrow.Failure.notPayee, [], gas: Gas.revert) }
        } else {
            guard c.sender == d.payee || (d.operator != .zero && c.sender == d.operator) else {
                return .customError(Escrow.Failure.notPayeeOrOperator, [], gas: Gas.revert)
            }
        }
        // v1 close captures the voucher amount when it is above what is settled; v2 close names its capture.
        let target = capture ?? max(cumulative, channel.settled)
        if close {
            if e.version == .v2 {
                guard target >= channel.settled, target <= cumulative else {
                    return .customError(Escrow.Failure.captureAmountInvalid, [], gas: Gas.revert)
                }
            }
        } else {
            guard cumulative > channel.settled else { return .customError(Escrow.Failure.amountNotIncreasing, [], gas: Gas.revert) }
        }
        var logs: [DevChainLog] = []
        if target > channel.settled {
            guard cumulative <= channel.deposit, target <= channel.deposit else {
                return .customError(Escrow.Failure.amountExceedsDeposit, [], gas: Gas.revert)
            }
            guard e.voucherIsValid(channel, id: id, cumulativeAmount: cumulative, signature: signature) else {
                return .customError(Escrow.Failure.invalidSignature, [], gas: Gas.revert)
            }
            let delta = target - channel.settled
            let paid = move(e, token: d.token, from: e.address, to: d.payee, amount: delta, needsAllowance: false)
            guard paid.succeeded else { return paid }
            channel.settled = target
            logs += paid.logs
            if !close {
                logs.append(e.log(.settled, channel, id: id, data: [.uint(cumulative), .uint(delta), .uint(target)]))
            }
        }
        if close {
            let refund = channel.deposit - channel.settled
            if !refund.isZero {
                let refunded = move(e, token: d.token, from: e.address, to: d.payer, amount: refund, needsAllowance: false)
                guard refunded.succeeded else { return refunded }
                logs += refunded.logs
            }
            logs.append(e.log(.channelClosed, channel, id: id, data: [.uint(channel.settled), .uint(refund)]))
            channel.finalized = true
        }
        e.channels[id] = close && e.version == .v2 ? nil : channel
        return .success([], logs: logs, gas: Self.escrowGas)
    }

    private mutating func topUp(_ e: inout Escrow, id: Hash32, amount: UInt256, _ c: Escrow.CallContext) -> ExecutionOutcome {
        if let revert = missing(e, id) { return revert }
        var channel = e.channels[id]!
        guard c.sender == channel.descriptor.payer else { return .customError(Escrow.Failure.notPayer, [], gas: Gas.revert) }
        let (deposit, overflow) = channel.deposit.addingReportingOverflow(amount)
        guard !overflow, deposit <= e.version.maximumAmount else {
            return .customError(Escrow.Failure.depositOverflow, [], gas: Gas.revert)
        }
        let pulled = move(
            e, token: channel.descriptor.token, from: c.sender, to: e.address, amount: amount, needsAllowance: e.version == .v1)
        guard pulled.succeeded else { return pulled }
        channel.deposit = deposit
        var logs = pulled.logs
        if channel.closeRequestedAt != 0 {
            channel.closeRequestedAt = 0
            logs.append(e.log(.closeRequestCancelled, channel, id: id, data: []))
        }
        logs.append(e.log(.topUp, channel, id: id, data: [.uint(amount), .uint(deposit)]))
        e.channels[id] = channel
        return .success([], logs: logs, gas: Self.escrowGas)
    }

    /// The payer's forced close: `requestClose` starts the grace period, `withdraw` ends it.
    private mutating func payerClose(_ e: inout Escrow, id: Hash32, withdraw: Bool, _ c: Escrow.CallContext) -> ExecutionOutcome {
        if let revert = missing(e, id) { return revert }
        var channel = e.channels[id]!
        guard c.sender == channel.descriptor.payer else { return .customError(Escrow.Failure.notPayer, [], gas: Gas.revert) }
        guard withdraw else {
            if channel.closeRequestedAt == 0 { channel.closeRequestedAt = c.timestamp }
            e.channels[id] = channel
            let end = UInt256(channel.closeRequestedAt + Escrow.closeGracePeriod)
            return .success([], logs: [e.log(.closeRequested, channel, id: id, data: [.uint(end)])], gas: Self.escrowGas)
        }
        guard channel.closeRequestedAt != 0, c.timestamp >= channel.closeRequestedAt + Escrow.closeGracePeriod else {
            return .customError(Escrow.Failure.closeNotReady, [], gas: Gas.revert)
        }
        let refund = channel.deposit - channel.settled
        var logs: [DevChainLog] = []
        if !refund.isZero {
            let refunded = move(
                e, token: channel.descriptor.token, from: e.address, to: channel.descriptor.payer, amount: refund, needsAllowance: false)
            guard refunded.succeeded else { return refunded }
            logs = refunded.logs
        }
        logs.append(e.log(.channelClosed, channel, id: id, data: [.uint(channel.settled), .uint(refund)]))
        channel.finalized = true
        e.channels[id] = e.version == .v2 ? nil : channel
        return .success([], logs: logs, gas: Self.escrowGas)
    }
}
