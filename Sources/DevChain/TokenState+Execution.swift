import EVM

/// The token contract's functions, by selector, with FiatToken v2.2's checks and revert strings.
extension TokenState {
    /// Who calls, when, with how much ether.
    struct CallContext: Sendable {
        /// `msg.sender`.
        var sender: Address
        /// `block.timestamp`.
        var timestamp: UInt64
        /// `msg.value`: every FiatToken function is non-payable.
        var value: UInt256
    }

    enum Selector {
        static let name = ABI.selector("name()")
        static let symbol = ABI.selector("symbol()")
        static let decimals = ABI.selector("decimals()")
        static let version = ABI.selector("version()")
        static let totalSupply = ABI.selector("totalSupply()")
        static let balanceOf = ABI.selector("balanceOf(address)")
        static let allowance = ABI.selector("allowance(address,address)")
        static let authorizationState = ABI.selector("authorizationState(address,bytes32)")
        static let domainSeparator = ABI.selector("DOMAIN_SEPARATOR()")
        static let transferTypeHash = ABI.selector("TRANSFER_WITH_AUTHORIZATION_TYPEHASH()")
        static let receiveTypeHash = ABI.selector("RECEIVE_WITH_AUTHORIZATION_TYPEHASH()")
        static let cancelTypeHash = ABI.selector("CANCEL_AUTHORIZATION_TYPEHASH()")
        static let transfer = ABI.selector("transfer(address,uint256)")
        static let approve = ABI.selector("approve(address,uint256)")
        static let increaseAllowance = ABI.selector("increaseAllowance(address,uint256)")
        static let decreaseAllowance = ABI.selector("decreaseAllowance(address,uint256)")
        static let transferFrom = ABI.selector("transferFrom(address,address,uint256)")
        static let transferWithAuthorization = ABI.selector(
            "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)")
        static let transferWithAuthorizationBytes = ABI.selector(
            "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")
        static let receiveWithAuthorization = ABI.selector(
            "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)")
        static let receiveWithAuthorizationBytes = ABI.selector(
            "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")
        static let cancelAuthorization = ABI.selector("cancelAuthorization(address,bytes32,uint8,bytes32,bytes32)")
        static let cancelAuthorizationBytes = ABI.selector("cancelAuthorization(address,bytes32,bytes)")
    }

    static let authorizationArguments: [ABIType] = [.address, .address, .uint256, .uint256, .uint256, .bytes32]
    static let vrs: [ABIType] = [.uint8, .bytes32, .bytes32]

    /// Runs `calldata` against the token. On revert `self` is left untouched.
    mutating func execute(_ calldata: [UInt8], context: CallContext) -> ExecutionOutcome {
        if case .tip20(let currency) = configuration.standard { return executeTIP20(calldata, context: context, currency: currency) }
        guard calldata.count >= 4 else { return .revertEmpty(gas: Gas.revert) }
        let selector = Array(calldata[0..<4])
        let arguments = calldata[4...]
        func decode(_ types: [ABIType]) -> [ABIValue]? { try? ABI.decode(types, from: arguments) }

        // Views (no value check needed for the outcome: a non-payable view reverts on value too).
        guard context.value.isZero else { return .revertEmpty(gas: Gas.revert) }
        if let view = erc20View(selector, arguments) { return view }
        switch selector {
        case Selector.version: return .success(ABI.encode([.string(configuration.version)]), gas: Gas.view)
        case Selector.domainSeparator: return .success(domain.separator.bytes, gas: Gas.view)
        case Selector.transferTypeHash: return .success(TransferWithAuthorization.typeHash.bytes, gas: Gas.view)
        case Selector.receiveTypeHash: return .success(ReceiveWithAuthorization.typeHash.bytes, gas: Gas.view)
        case Selector.cancelTypeHash: return .success(CancelAuthorization.typeHash.bytes, gas: Gas.view)
        case Selector.authorizationState:
            guard let a = decode([.address, .bytes32]) else { break }
            return .success(ABI.encode([.bool(isUsed(a[0].address!, a[1].bytes32!))]), gas: Gas.view)

        case Selector.transfer:
            guard let a = decode([.address, .uint256]) else { break }
            return transfer(from: context.sender, to: a[0].address!, value: a[1].uint!, gas: Gas.transfer, returnsTrue: true)
        case Selector.approve:
            guard let a = decode([.address, .uint256]) else { break }
            return approve(owner: context.sender, spender: a[0].address!, value: a[1].uint!)
        case Selector.increaseAllowance:
            guard let a = decode([.address, .uint256]) else { break }
            let (sum, overflow) = allowance(owner: context.sender, spender: a[0].address!).addingReportingOverflow(a[1].uint!)
            // Solidity 0.6 SafeMath: "SafeMath: addition overflow".
            guard !overflow else { return .revert("SafeMath: addition overflow", gas: Gas.revert) }
            return approve(owner: context.sender, spender: a[0].address!, value: sum)
        case Selector.decreaseAllowance:
            guard let a = decode([.address, .uint256]) else { break }
            let current = allowance(owner: context.sender, spender: a[0].address!)
            guard a[1].uint! <= current else { return .revert("ERC20: decreased allowance below zero", gas: Gas.revert) }
            return approve(owner: context.sender, spender: a[0].address!, value: current - a[1].uint!)
        case Selector.transferFrom:
            guard let a = decode([.address, .address, .uint256]) else { break }
            return transferFrom(spender: context.sender, from: a[0].address!, to: a[1].address!, value: a[2].uint!)

        case Selector.transferWithAuthorization, Selector.receiveWithAuthorization:
            guard let a = decode(Self.authorizationArguments + Self.vrs) else { break }
            let signature = a[7].bytes! + a[8].bytes! + [UInt8(a[6].uint!.uint64!)]
            return authorizedTransfer(a, signature: signature, receive: selector == Selector.receiveWithAuthorization, context: context)
        case Selector.transferWithAuthorizationBytes, Selector.receiveWithAuthorizationBytes:
            guard let a = decode(Self.authorizationArguments + [.bytes]) else { break }
            return authorizedTransfer(
                a, signature: a[6].bytes!, receive: selector == Selector.receiveWithAuthorizationBytes, context: context)
        case Selector.cancelAuthorization:
            guard let a = decode([.address, .bytes32] + Self.vrs) else { break }
            let signature = a[3].bytes! + a[4].bytes! + [UInt8(a[2].uint!.uint64!)]
            return cancel(authorizer: a[0].address!, nonce: a[1].bytes32!, signature: signature)
        case Selector.cancelAuthorizationBytes:
            guard let a = decode([.address, .bytes32, .bytes]) else { break }
            return cancel(authorizer: a[0].address!, nonce: a[1].bytes32!, signature: a[2].bytes!)
        default:
            break
        }
        // Unknown selector or calldata the ABI decoder rejects: Solidity reverts without data.
        return .revertEmpty(gas: Gas.revert)
    }

    // MARK: ERC-20

    /// The ERC-20 views FiatToken and TIP-20 share; nil for another selector or bad arguments.
    func erc20View(_ selector: [UInt8], _ arguments: ArraySlice<UInt8>) -> ExecutionOutcome? {
        switch selector {
        case Selector.name: return .success(ABI.encode([.string(configuration.name)]), gas: Gas.view)
        case Selector.symbol: return .success(ABI.encode([.string(configuration.symbol)]), gas: Gas.view)
        case Selector.decimals: return .success(ABI.encode([.uint(UInt256(UInt64(configuration.decimals)))]), gas: Gas.view)
        case Selector.totalSupply: return .success(ABI.encode([.uint(totalSupply)]), gas: Gas.view)
        case Selector.balanceOf:
            guard let a = try? ABI.decode([.address], from: arguments) else { return nil }
            return .success(ABI.encode([.uint(balance(of: a[0].address!))]), gas: Gas.view)
        case Selector.allowance:
            guard let a = try? ABI.decode([.address, .address], from: arguments) else { return nil }
            return .success(ABI.encode([.uint(allowance(owner: a[0].address!, spender: a[1].address!))]), gas: Gas.view)
        default: return nil
        }
    }

    /// FiatToken `_transfer`.
    private mutating func transfer(from: Address, to: Address, value: UInt256, gas: UInt64, returnsTrue: Bool) -> ExecutionOutcome {
        guard from != .zero else { return .revert("ERC20: transfer from the zero address", gas: Gas.revert) }
        guard to != .zero else { return .revert("ERC20: transfer to the zero address", gas: Gas.revert) }
        let fromBalance = balance(of: from)
        guard value <= fromBalance else { return .revert("ERC20: transfer amount exceeds balance", gas: Gas.revert) }
        balances[from] = fromBalance - value
        balances[to] = balance(of: to) + value
        return .success(
            returnsTrue ? ABI.encode([.bool(true)]) : [],
            logs: [.transfer(token: address, from: from, to: to, value: value)], gas: gas)
    }

    private mutating func approve(owner: Address, spender: Address, value: UInt256) -> ExecutionOutcome {
        guard owner != .zero else { return .revert("ERC20: approve from the zero address", gas: Gas.revert) }
        guard spender != .zero else { return .revert("ERC20: approve to the zero address", gas: Gas.revert) }
        allowances[owner, default: [:]][spender] = value
        return .success(
            ABI.encode([.bool(true)]), logs: [.approval(token: address, owner: owner, spender: spender, value: value)], gas: Gas.approve)
    }

    private mutating func transferFrom(spender: Address, from: Address, to: Address, value: UInt256) -> ExecutionOutcome {
        let allowed = allowance(owner: from, spender: spender)
        guard value <= allowed else { return .revert("ERC20: transfer amount exceeds allowance", gas: Gas.revert) }
        let outcome = transfer(from: from, to: to, value: value, gas: Gas.transferFrom, returnsTrue: true)
        if outcome.succeeded { allowances[from, default: [:]][spender] = allowed - value }
        return outcome
    }

    // MARK: EIP-3009

    /// `transferWithAuthorization` / `receiveWithAuthorization` (FiatToken v2.2 `EIP3009.sol`).
    private mutating func authorizedTransfer(
        _ a: [ABIValue], signature: [UInt8], receive: Bool, context: CallContext
    ) -> ExecutionOutcome {
        let from = a[0].address!
        let to = a[1].address!
        let value = a[2].uint!
        let validAfter = a[3].uint!
        let validBefore = a[4].uint!
        let nonce = a[5].bytes32!
        if receive && to != context.sender {
            return .revert("FiatTokenV2: caller must be the payee", gas: Gas.revert)
        }
        if let failure = validateAuthorization(authorizer: from, nonce: nonce, validAfter: validAfter, validBefore: validBefore, context) {
            return .revert(failure, gas: Gas.revert)
        }
        let structHash =
            receive
            ? ReceiveWithAuthorization(from: from, to: to, value: value, validAfter: validAfter, validBefore: validBefore, nonce: nonce)
                .structHash
            : TransferWithAuthorization(from: from, to: to, value: value, validAfter: validAfter, validBefore: validBefore, nonce: nonce)
                .structHash
        if let failure = checkSignature(signer: from, structHash: structHash, signature: signature) {
            return .revert(failure, gas: Gas.revert)
        }
        var next = self
        next.usedAuthorizations.insert(AuthorizationKey(authorizer: from, nonce: nonce))
        let moved = next.transfer(from: from, to: to, value: value, gas: Gas.authorizedTransfer, returnsTrue: false)
        guard moved.succeeded else { return moved }
        self = next
        return .success(
            [], logs: [.authorizationUsed(token: address, authorizer: from, nonce: nonce)] + moved.logs, gas: Gas.authorizedTransfer)
    }

    private mutating func cancel(authorizer: Address, nonce: Hash32, signature: [UInt8]) -> ExecutionOutcome {
        guard !isUsed(authorizer, nonce) else {
            return .revert("FiatTokenV2: authorization is used or canceled", gas: Gas.revert)
        }
        let structHash = CancelAuthorization(authorizer: authorizer, nonce: nonce).structHash
        if let failure = checkSignature(signer: authorizer, structHash: structHash, signature: signature) {
            return .revert(failure, gas: Gas.revert)
        }
        usedAuthorizations.insert(AuthorizationKey(authorizer: authorizer, nonce: nonce))
        return .success(
            [], logs: [.authorizationCanceled(token: address, authorizer: authorizer, nonce: nonce)], gas: Gas.cancelAuthorization)
    }

    /// `_requireValidAuthorization`: the time window (both bounds strict) then the nonce.
    private func validateAuthorization(
        authorizer: Address, nonce: Hash32, validAfter: UInt256, validBefore: UInt256, _ context: CallContext
    ) -> String? {
        let now = UInt256(context.timestamp)
        guard now > validAfter else { return "FiatTokenV2: authorization is not yet valid" }
        guard now < validBefore else { return "FiatTokenV2: authorization is expired" }
        guard !isUsed(authorizer, nonce) else { return "FiatTokenV2: authorization is used or canceled" }
        return nil
    }

    /// `SignatureChecker.isValidSignatureNow` for an EOA: Circle's `ECRecover.recover` (length, low s,
    /// v of 27 or 28, a recoverable signer) and then equality with the expected signer.
    private func checkSignature(signer: Address, structHash: Hash32, signature: [UInt8]) -> String? {
        guard signature.count == 65 else { return "ECRecover: invalid signature length" }
        let r = try! Hash32(bytes: signature[0..<32])
        let s = try! Hash32(bytes: signature[32..<64])
        let v = signature[64]
        guard s.uint256 <= Secp256k1Order.half else { return "ECRecover: invalid signature 's' value" }
        guard v == 27 || v == 28 else { return "ECRecover: invalid signature 'v' value" }
        let digest = EIP712.digest(domainSeparator: domain.separator, structHash: structHash)
        guard let parsed = try? Signature(r: r, s: s, v: v), let recovered = try? parsed.recoverAddress(from: digest) else {
            return "ECRecover: invalid signature"
        }
        return recovered == signer ? nil : "FiatTokenV2: invalid signature"
    }
}

/// The secp256k1 group order's half, which Circle's `ECRecover` (like EIP-2) uses as the bound on `s`.
/// (The EVM module keeps its curve constants internal.)
enum Secp256k1Order {
    static let half = try! UInt256(hex: "0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0")
}
