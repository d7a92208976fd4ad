import EVM

/// Permit2's `SignatureTransfer` (permit and witness transfers, unordered nonces) and x402's
/// `x402UptoPermit2Proxy`, with the checks, their order, custom errors and events of the deployed
/// contracts. They move token balances through the token's own `transferFrom` (Permit2 is the
/// spender the owner approved), so they run on the whole world state; on revert it is untouched.
extension WorldState {
    static let permit2TransferGas: UInt64 = 38_000
    static let uptoProxyGas: UInt64 = 12_000

    mutating func executePermit2(_ calldata: [UInt8], context c: CallContext) -> ExecutionOutcome {
        guard var permit2, calldata.count >= 4 else { return .revertEmpty(gas: Gas.revert) }
        typealias S = Permit2State.Selector
        let selector = Array(calldata[0..<4])
        let arguments = calldata[4...]
        func decode(_ types: [ABIType]) -> [ABIValue]? { try? ABI.decode(types, from: arguments) }
        switch selector {
        case S.domainSeparator:
            return .success(permit2.domain.separator.bytes, gas: Gas.view)
        case S.nonceBitmap:
            guard let a = decode([.address, .uint256]) else { break }
            return .success(ABI.encode([.uint(permit2.bitmap(a[0].address!, word: a[1].uint!))]), gas: Gas.view)
        case S.invalidateUnorderedNonces:
            guard let a = decode([.uint256, .uint256]) else { break }
            permit2.invalidate(c.sender, word: a[0].uint!, mask: a[1].uint!)
            self.permit2 = permit2
            let log = DevChainLog(
                address: permit2.address, topics: [Permit2State.unorderedNonceInvalidation, c.sender.word],
                data: ABI.encode([a[0], a[1]]))
            return .success([], logs: [log], gas: Gas.approve)
        case S.permitTransferFrom, S.permitWitnessTransferFrom:
            let witnessed = selector == S.permitWitnessTransferFrom
            let types: [ABIType] =
                [Permit2State.permitType, Permit2State.detailsType, .address] + (witnessed ? [.bytes32, .string, .bytes] : [.bytes])
            guard let a = decode(types), let permit = a[0].elements, let permitted = permit[0].elements, let details = a[1].elements
            else { break }
            let token = permitted[0].address!
            let maximum = permitted[1].uint!
            let nonce = permit[1].uint!
            let deadline = permit[2].uint!
            let owner = a[2].address!
            let structHash =
                witnessed
                ? Permit2.witnessStructHash(
                    token: token, amount: maximum, spender: c.sender, nonce: nonce, deadline: deadline, witness: a[3].bytes32!,
                    witnessTypeString: a[4].string!)
                : Permit2.permitStructHash(token: token, amount: maximum, spender: c.sender, nonce: nonce, deadline: deadline)
            return permitTransfer(
                &permit2, token: token, maximum: maximum, nonce: nonce, deadline: deadline, owner: owner, to: details[0].address!,
                requested: details[1].uint!, structHash: structHash, signature: a[witnessed ? 5 : 3].bytes!, c)
        default:
            break
        }
        return .revertEmpty(gas: Gas.revert)
    }

    /// `SignatureTransfer._permitTransferFrom`: deadline, amount, nonce, signature, then the token's
    /// `transferFrom` with Permit2 as the spender.
    private mutating func permitTransfer(
        _ permit2: inout Permit2State, token: Address, maximum: UInt256, nonce: UInt256, deadline: UInt256, owner: Address, to: Address,
        requested: UInt256, structHash: Hash32, signature: [UInt8], _ c: CallContext
    ) -> ExecutionOutcome {
        typealias F = Permit2State.Failure
        guard UInt256(c.timestamp) <= deadline else { return .customError(F.signatureExpired, [.uint(deadline)], gas: Gas.revert) }
        guard requested <= maximum else { return .customError(F.invalidAmount, [.uint(maximum)], gas: Gas.revert) }
        guard permit2.use(owner, nonce) else { return .customError(F.invalidNonce, [], gas: Gas.revert) }
        let digest = EIP712.digest(domainSeparator: permit2.domain.separator, structHash: structHash)
        if let failure = Self.verifyPermit2Signature(signature, digest: digest, claimedSigner: owner) {
            return .customError(failure, [], gas: Gas.revert)
        }
        var world = self
        world.permit2 = permit2
        let moved = world.call(
            token, ABI.encodeCall("transferFrom(address,address,uint256)", [.address(owner), .address(to), .uint(requested)]),
            context: CallContext(sender: permit2.address, timestamp: c.timestamp, chainID: c.chainID))
        // solmate's SafeTransferLib: a failed (or code-less) token call reverts with its own message.
        guard moved.succeeded, tokens[token] != nil else { return .revert(F.transferFromFailed, gas: Gas.revert) }
        self = world
        return .success([], logs: moved.logs, gas: Self.permit2TransferGas + moved.gas)
    }

    /// `SignatureVerification.verify` for an EOA (the dev chain has no contract wallets): 65-byte
    /// `r‖s‖v` or 64-byte EIP-2098 `r‖vs`, then `ecrecover` (which takes any `s` and only v 27/28).
    static func verifyPermit2Signature(_ signature: [UInt8], digest: Hash32, claimedSigner: Address) -> String? {
        typealias F = Permit2State.Failure
        var bytes = signature
        if bytes.count == 64 {
            let v: UInt8 = 27 + (bytes[32] >> 7)
            bytes[32] &= 0x7f
            bytes.append(v)
        }
        guard bytes.count == 65 else { return F.invalidSignatureLength }
        guard bytes[64] == 27 || bytes[64] == 28, let parsed = try? Signature(bytes: bytes),
            let signer = try? parsed.recoverAddress(from: digest, requireLowS: false)
        else { return F.invalidSignature }
        return signer == claimedSigner ? nil : F.invalidSigner
    }

    /// `x402UptoPermit2Proxy`: `settle` (the caller must be the witness's facilitator) and its views.
    mutating func executeUptoProxy(_ calldata: [UInt8], context c: CallContext) -> ExecutionOutcome {
        guard let permit2, calldata.count >= 4 else { return .revertEmpty(gas: Gas.revert) }
        let selector = Array(calldata[0..<4])
        switch selector {
        case UptoProxy.permit2: return .success(ABI.encode([.address(permit2.address)]), gas: Gas.view)
        case UptoProxy.witnessTypeString: return .success(ABI.encode([.string(Permit2.uptoWitnessTypeString)]), gas: Gas.view)
        case UptoProxy.witnessTypeHash: return .success(Permit2.uptoWitnessTypeHash.bytes, gas: Gas.view)
        case UptoProxy.settle:
            guard let (permit, amount, signature) = UptoPermit.decodeSettle(calldata[4...]) else { break }
            return settleUpto(permit, amount: amount, signature: signature, permit2: permit2.address, c)
        default:
            break
        }
        return .revertEmpty(gas: Gas.revert)
    }

    /// `settle` → `_settle`: the amount, the addresses, the caller, the start of the window, then
    /// Permit2's witness transfer to `witness.to` (whose revert is bubbled up).
    private mutating func settleUpto(_ permit: UptoPermit, amount: UInt256, signature: [UInt8], permit2: Address, _ c: CallContext)
        -> ExecutionOutcome
    {
        typealias F = UptoProxy.Failure
        guard amount <= permit.amount else { return .customError(F.amountExceedsPermitted, [], gas: Gas.revert) }
        guard !amount.isZero else { return .customError(F.invalidAmount, [], gas: Gas.revert) }
        guard permit.from != .zero else { return .customError(F.invalidOwner, [], gas: Gas.revert) }
        guard permit.to != .zero else { return .customError(F.invalidDestination, [], gas: Gas.revert) }
        guard c.sender == permit.facilitator else { return .customError(F.unauthorizedFacilitator, [], gas: Gas.revert) }
        guard UInt256(c.timestamp) >= permit.validAfter else { return .customError(F.paymentTooEarly, [], gas: Gas.revert) }
        let transferred = call(
            permit2,
            ABI.encodeCall(
                "permitWitnessTransferFrom(((address,uint256),uint256,uint256),(address,uint256),address,bytes32,string,bytes)",
                [
                    .tuple([.tuple([.address(permit.token), .uint(permit.amount)]), .uint(permit.nonce), .uint(permit.deadline)]),
                    .tuple([.address(permit.to), .uint(amount)]), .address(permit.from), .bytes32(permit.witnessHash),
                    .string(Permit2.uptoWitnessTypeString), .bytes(signature),
                ]),
            context: CallContext(sender: Permit2.uptoProxy, timestamp: c.timestamp, chainID: c.chainID))
        guard transferred.succeeded else { return transferred }
        let settled = DevChainLog(address: Permit2.uptoProxy, topics: [UptoProxy.settled], data: [])
        return .success([], logs: transferred.logs + [settled], gas: Self.uptoProxyGas + transferred.gas)
    }
}

extension WorldState {
    /// `Permit2DepositCollector.collect` for `x402BatchSettlement.deposit`: an optional EIP-2612
    /// `permit` to Permit2 (tried; a failure is logged and the deposit goes on), then Permit2's
    /// witness transfer from the payer straight to the settlement contract, the collector as spender
    /// and the channel id as witness.
    mutating func collectPermit2(
        _ b: BatchSettlementState, _ cfg: BatchChannelConfig, amount: UInt256, channelID: Hash32, collectorData: [UInt8], _ c: CallContext
    ) -> ExecutionOutcome {
        guard let permit2, let data = try? ABI.decode([.uint256, .uint256, .bytes, .bytes], from: collectorData) else {
            return .revertEmpty(gas: Gas.revert)
        }
        let collector = CallContext(sender: BatchSettlement.permit2DepositCollector, timestamp: c.timestamp, chainID: c.chainID)
        var logs: [DevChainLog] = []
        var gas = Self.permit2TransferGas
        if let eip2612 = data[3].bytes, !eip2612.isEmpty {
            guard let p = try? ABI.decode([.uint256, .uint256, .uint8, .bytes32, .bytes32], from: eip2612) else {
                return .revertEmpty(gas: Gas.revert)
            }
            guard p[0].uint! == amount else { return .customError("Permit2612AmountMismatch()", [], gas: Gas.revert) }
            let attempt = call(
                cfg.token,
                ABI.encodeCall(
                    "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
                    [.address(cfg.payer), .address(permit2.address), p[0], p[1], p[2], p[3], p[4]]),
                context: collector)
            gas += attempt.gas
            logs += attempt.succeeded ? attempt.logs : [Self.permitFailure(token: cfg.token, owner: cfg.payer, revert: attempt.output)]
        }
        let witness = DepositPermit.witnessHash(channelID: channelID)
        let moved = call(
            permit2.address,
            ABI.encodeCall(
                "permitWitnessTransferFrom(((address,uint256),uint256,uint256),(address,uint256),address,bytes32,string,bytes)",
                [
                    .tuple([.tuple([.address(cfg.token), .uint(amount)]), data[0], data[1]]), .tuple([.address(b.address), .uint(amount)]),
                    .address(cfg.payer), .bytes32(witness), .string(Permit2.depositWitnessTypeString), data[2],
                ]),
            context: collector)
        guard moved.succeeded else { return moved }
        return .success([], logs: logs + moved.logs, gas: gas + moved.gas)
    }

    /// The collector's `EIP2612PermitFailedWith{Reason,Panic,Data}` event for a failed `permit`.
    private static func permitFailure(token: Address, owner: Address, revert: [UInt8]) -> DevChainLog {
        let (event, data): (String, [ABIValue]) =
            switch RevertReason(data: revert) {
            case .error(let reason): ("EIP2612PermitFailedWithReason(address,address,string)", [.string(reason)])
            case .panic(let code): ("EIP2612PermitFailedWithPanic(address,address,uint256)", [.uint(code)])
            default: ("EIP2612PermitFailedWithData(address,address,bytes)", [.bytes(revert)])
            }
        return DevChainLog(
            address: BatchSettlement.permit2DepositCollector, topics: [ABI.eventTopic(event), token.word, owner.word],
            data: ABI.encode(data))
    }
}
