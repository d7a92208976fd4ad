/// Uniswap's Permit2 (`SignatureTransfer`) and x402's `x402UptoPermit2Proxy`: their addresses, the
/// EIP-712 domain and type hashes, and the witness that x402's `upto` scheme signs.
///
/// Permit2's domain has no `version` field: `EIP712Domain(string name,uint256 chainId,address
/// verifyingContract)` with name `Permit2`. A witness transfer's type is the stub
/// `PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,`
/// followed by the caller's witness type string, and `spender` is whoever calls Permit2 (the proxy).
public enum Permit2 {
    /// Permit2, at the same CREATE2 address on every chain.
    public static let address = try! Address("0x000000000022D473030F116dDEE9F6B43aC78BA3")
    /// x402's `x402UptoPermit2Proxy` (CREATE2, same on every chain): the spender of `upto` permits.
    public static let uptoProxy = try! Address("0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002")

    /// `EIP712Domain("Permit2", chainId, Permit2)`.
    public static func domain(chainID: UInt64, contract: Address = address) -> EIP712Domain {
        EIP712Domain(name: "Permit2", chainID: UInt256(chainID), verifyingContract: contract)
    }

    public static let tokenPermissionsTypeHash = Keccak256.hash("TokenPermissions(address token,uint256 amount)")
    /// The type of a plain `permitTransferFrom` (no witness).
    public static let permitTransferFromTypeHash = Keccak256.hash(
        "PermitTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline)TokenPermissions(address token,uint256 amount)"
    )
    /// What `permitWitnessTransferFrom` puts before the caller's witness type string.
    public static let witnessTypeStub =
        "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,"

    /// The upto proxy's `WITNESS_TYPE_STRING`: the witness member and the referenced types, sorted.
    public static let uptoWitnessTypeString =
        "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,address facilitator,uint256 validAfter)"
    /// The upto proxy's `WITNESS_TYPEHASH`.
    public static let uptoWitnessTypeHash = Keccak256.hash("Witness(address to,address facilitator,uint256 validAfter)")

    /// x402 batch-settlement's Permit2 deposit collector's `DEPOSIT_WITNESS_TYPE_STRING`: the witness
    /// binds the deposit to its channel.
    public static let depositWitnessTypeString =
        "DepositWitness witness)DepositWitness(bytes32 channelId)TokenPermissions(address token,uint256 amount)"
    /// The collector's `DEPOSIT_WITNESS_TYPEHASH`.
    public static let depositWitnessTypeHash = Keccak256.hash("DepositWitness(bytes32 channelId)")

    /// `hashStruct(TokenPermissions)`.
    public static func tokenPermissionsHash(token: Address, amount: UInt256) -> Hash32 {
        Keccak256.hash(ABI.encode([.bytes32(tokenPermissionsTypeHash), .address(token), .uint(amount)]))
    }

    /// The struct hash `permitTransferFrom` checks: `spender` is Permit2's caller.
    public static func permitStructHash(token: Address, amount: UInt256, spender: Address, nonce: UInt256, deadline: UInt256) -> Hash32 {
        Keccak256.hash(
            ABI.encode([
                .bytes32(permitTransferFromTypeHash), .bytes32(tokenPermissionsHash(token: token, amount: amount)), .address(spender),
                .uint(nonce), .uint(deadline),
            ]))
    }

    /// The struct hash `permitWitnessTransferFrom` checks, for a witness already hashed by the caller.
    public static func witnessStructHash(
        token: Address, amount: UInt256, spender: Address, nonce: UInt256, deadline: UInt256, witness: Hash32, witnessTypeString: String
    ) -> Hash32 {
        let typeHash = Keccak256.hash(witnessTypeStub + witnessTypeString)
        return Keccak256.hash(
            ABI.encode([
                .bytes32(typeHash), .bytes32(tokenPermissionsHash(token: token, amount: amount)), .address(spender), .uint(nonce),
                .uint(deadline), .bytes32(witness),
            ]))
    }

    /// Where an unordered nonce lives in `nonceBitmap(owner, word)`: the word (`nonce >> 8`) and the
    /// bit (`1 << (nonce & 0xff)`).
    public static func nonceSlot(_ nonce: UInt256) -> (word: UInt256, bit: UInt256) {
        let bytes = nonce.bigEndianBytes
        let word = try! UInt256(bigEndian: [0] + bytes[0..<31])
        let position = Int(bytes[31])
        var bit = [UInt8](repeating: 0, count: 32)
        bit[31 - position / 8] = 1 << (position % 8)
        return (word, try! UInt256(bigEndian: bit))
    }
}

/// What a payer signs to fund an x402 batch-settlement channel through the Permit2 deposit
/// collector: a Permit2 `PermitWitnessTransferFrom` of `amount` of `token`, spent by the collector,
/// with the channel id as its witness, so that the permit can fund no other channel.
public struct DepositPermit: Sendable, Hashable {
    /// The payer (`owner` of the transfer).
    public var from: Address
    public var token: Address
    public var amount: UInt256
    public var spender: Address
    /// A Permit2 unordered nonce: each can be used once per owner, on any token.
    public var nonce: UInt256
    /// Permit2 refuses the transfer after this time (Unix seconds).
    public var deadline: UInt256
    public var channelID: Hash32

    public init(
        from: Address, token: Address, amount: UInt256, spender: Address = BatchSettlement.permit2DepositCollector, nonce: UInt256,
        deadline: UInt256, channelID: Hash32
    ) {
        self.from = from
        self.token = token
        self.amount = amount
        self.spender = spender
        self.nonce = nonce
        self.deadline = deadline
        self.channelID = channelID
    }

    /// The witness's hash for `channelID`, as the collector computes it.
    public static func witnessHash(channelID: Hash32) -> Hash32 {
        Keccak256.hash(ABI.encode([.bytes32(Permit2.depositWitnessTypeHash), .bytes32(channelID)]))
    }

    /// `hashStruct(PermitWitnessTransferFrom)`.
    public var structHash: Hash32 {
        Permit2.witnessStructHash(
            token: token, amount: amount, spender: spender, nonce: nonce, deadline: deadline,
            witness: Self.witnessHash(channelID: channelID), witnessTypeString: Permit2.depositWitnessTypeString)
    }

    /// The EIP-712 digest the payer signs, in Permit2's domain on `chainID`.
    public func digest(chainID: UInt64) -> Hash32 {
        EIP712.digest(domainSeparator: Permit2.domain(chainID: chainID).separator, structHash: structHash)
    }
}

/// What a payer signs for x402's `upto` scheme: a Permit2 `PermitWitnessTransferFrom` of at most
/// `amount` of `token`, spent by the upto proxy, with the witness `(to, facilitator, validAfter)`
/// binding the recipient and the only facilitator allowed to settle it.
public struct UptoPermit: Sendable, Hashable {
    /// The payer (`owner` of the transfer).
    public var from: Address
    public var token: Address
    /// The permitted maximum.
    public var amount: UInt256
    public var spender: Address
    /// A Permit2 unordered nonce: each can be used once per owner, on any token.
    public var nonce: UInt256
    /// Permit2 refuses the transfer after this time (Unix seconds).
    public var deadline: UInt256
    public var to: Address
    public var facilitator: Address
    public var validAfter: UInt256

    public init(
        from: Address, token: Address, amount: UInt256, spender: Address = Permit2.uptoProxy, nonce: UInt256, deadline: UInt256,
        to: Address, facilitator: Address, validAfter: UInt256 = .zero
    ) {
        self.from = from
        self.token = token
        self.amount = amount
        self.spender = spender
        self.nonce = nonce
        self.deadline = deadline
        self.to = to
        self.facilitator = facilitator
        self.validAfter = validAfter
    }

    /// The witness's hash, as the proxy computes it.
    public var witnessHash: Hash32 {
        Keccak256.hash(ABI.encode([.bytes32(Permit2.uptoWitnessTypeHash), .address(to), .address(facilitator), .uint(validAfter)]))
    }

    /// `hashStruct(PermitWitnessTransferFrom)`.
    public var structHash: Hash32 {
        Permit2.witnessStructHash(
            token: token, amount: amount, spender: spender, nonce: nonce, deadline: deadline, witness: witnessHash,
            witnessTypeString: Permit2.uptoWitnessTypeString)
    }

    /// The EIP-712 digest the payer signs, in Permit2's domain on `chainID`.
    public func digest(chainID: UInt64) -> Hash32 {
        EIP712.digest(domainSeparator: Permit2.domain(chainID: chainID).separator, structHash: structHash)
    }

    /// Signs the permit (what a wallet's `signTypedData` does).
    public func sign(with key: PrivateKey, chainID: UInt64) -> Signature {
        key.sign(digest: digest(chainID: chainID))
    }

    /// The ABI values of the proxy's `settle(permit, amount, owner, witness, signature)`.
    public func settleArguments(amount settled: UInt256, signature: [UInt8]) -> [ABIValue] {
        [
            .tuple([.tuple([.address(token), .uint(amount)]), .uint(nonce), .uint(deadline)]), .uint(settled), .address(from),
            .tuple([.address(to), .address(facilitator), .uint(validAfter)]), .bytes(signature),
        ]
    }

    /// The proxy's `settle` signature.
    public static let settleSignature = "settle(((address,uint256),uint256,uint256),uint256,address,(address,address,uint256),bytes)"
    /// The argument types of ``settleSignature``.
    public static let settleTypes: [ABIType] = [
        .tuple([.tuple([.address, .uint256]), .uint256, .uint256]), .uint256, .address, .tuple([.address, .address, .uint256]), .bytes,
    ]

    /// The proxy's `settle` calldata for `settled` of the permitted maximum.
    public func settleCalldata(amount settled: UInt256, signature: [UInt8]) -> [UInt8] {
        ABI.encodeCall(Self.settleSignature, settleArguments(amount: settled, signature: signature))
    }

    /// Reads back `settle` arguments (after the selector): the permit, the amount to settle and the
    /// signature; nil when they do not decode.
    public static func decodeSettle(_ arguments: some Collection<UInt8>) -> (permit: UptoPermit, amount: UInt256, signature: [UInt8])? {
        guard let a = try? ABI.decode(settleTypes, from: Array(arguments)), let permit = a[0].elements, let permitted = permit[0].elements,
            let witness = a[3].elements, let token = permitted[0].address, let maximum = permitted[1].uint, let nonce = permit[1].uint,
            let deadline = permit[2].uint, let settled = a[1].uint, let owner = a[2].address, let to = witness[0].address,
            let facilitator = witness[1].address, let validAfter = witness[2].uint, let signature = a[4].bytes
        else { return nil }
        return (
            UptoPermit(
                from: owner, token: token, amount: maximum, nonce: nonce, deadline: deadline, to: to, facilitator: facilitator,
                validAfter: validAfter), settled, signature
        )
    }
}
