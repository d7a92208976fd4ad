/// The two MPP session escrows of Tempo (mpp-tempo §2.2): v1, the `TempoStreamChannel` contract, and
/// v2, the TIP-1034 channel reserve precompile. What differs between them for vouchers: the EIP-712
/// domain name, the amount width and how a channel id is derived.
public enum TempoChannelEscrow: String, Sendable, Hashable, CaseIterable {
    case v1
    case v2

    /// The enshrined v2 reserve (`"MPP"` in ASCII).
    public static let v2Address = try! Address("0x4d50500000000000000000000000000000000000")
    /// The v1 contract on Moderato, as pympp and mppx default to.
    public static let v1ModeratoAddress = try! Address("0xe1c4d3dce17bc111181ddf716f75bae49e61a336")

    /// The EIP-712 domain name.
    public var domainName: String { self == .v1 ? "Tempo Stream Channel" : "TIP20 Channel Reserve" }

    /// Bits of a channel amount: uint128 (v1), uint96 (v2).
    public var amountBits: Int { self == .v1 ? 128 : 96 }

    /// The largest channel amount.
    public var maximumAmount: UInt256 {
        self == .v1 ? try! UInt256(hex: "0xffffffffffffffffffffffffffffffff") : try! UInt256(hex: "0xffffffffffffffffffffffff")
    }

    /// `Voucher(bytes32 channelId,uint128 cumulativeAmount)` or with `uint96`.
    public var voucherType: String { "Voucher(bytes32 channelId,uint\(amountBits) cumulativeAmount)" }

    public var voucherTypeHash: Hash32 { Keccak256.hash(voucherType) }

    /// `EIP712Domain(name, "1", chainId, escrow)`.
    public func domain(chainID: UInt64, escrow: Address) -> TokenDomain {
        TokenDomain(name: domainName, version: "1", chainID: UInt256(chainID), verifyingContract: escrow)
    }

    /// The digest a voucher signs: keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(Voucher)).
    public func voucherDigest(channelID: Hash32, cumulativeAmount: UInt256, domain: TokenDomain) -> Hash32 {
        voucherDigest(channelID: channelID, cumulativeAmount: cumulativeAmount, domainSeparator: domain.separator)
    }

    /// The same digest from a domain separator computed once: a server checking vouchers all day
    /// against one escrow spares the EIP-712 type encoding of the domain on each.
    public func voucherDigest(channelID: Hash32, cumulativeAmount: UInt256, domainSeparator: Hash32) -> Hash32 {
        let structHash = Keccak256.hash(voucherTypeHash.bytes + channelID.bytes + cumulativeAmount.bigEndianBytes)
        return EIP712.digest(domainSeparator: domainSeparator, structHash: structHash)
    }

    /// v1: keccak256(abi.encode(payer, payee, token, salt, authorizedSigner, escrow, chainId)).
    public static func v1ChannelID(
        payer: Address, payee: Address, token: Address, salt: Hash32, authorizedSigner: Address, escrow: Address, chainID: UInt64
    ) -> Hash32 {
        Keccak256.hash(
            ABI.encode([
                .address(payer), .address(payee), .address(token), .bytes32(salt), .address(authorizedSigner), .address(escrow),
                .uint(UInt256(chainID)),
            ]))
    }

    /// The signer a voucher signature recovers to, as the escrows check it: 65 bytes `r ‖ s ‖ v`
    /// (`v` 27 or 28) or 64 bytes EIP-2098 `r ‖ yParity·2^255 + s`, and `s` in the lower half.
    ///
    /// - Throws: ``EVMError/Code/invalidSignature``, ``EVMError/Code/highS``,
    ///   ``EVMError/Code/recoveryFailed``.
    public static func recoverVoucherSigner(_ signature: [UInt8], digest: Hash32) throws(EVMError) -> Address {
        let parsed: Signature
        switch signature.count {
        case 65:
            guard signature[64] == 27 || signature[64] == 28 else { throw EVMError(.invalidSignature, "voucher v must be 27 or 28") }
            parsed = try Signature(bytes: signature)
        case 64:
            var vs = signature[32..<64].map { $0 }
            let yParity = vs[0] >> 7
            vs[0] &= 0x7f
            parsed = try Signature(r: try Hash32(bytes: signature[0..<32]), s: try Hash32(bytes: vs), v: yParity)
        default:
            throw EVMError(.invalidSignature, "a voucher signature has 64 or 65 bytes, got \(signature.count)")
        }
        return try parsed.recoverAddress(from: digest)
    }
}

/// A v2 channel's identity (TIP-1034 `ChannelDescriptor`), passed to every v2 call.
public struct TempoChannelDescriptor: Sendable, Hashable {
    public var payer: Address
    public var payee: Address
    /// A relayer that may settle and close for the payee; zero for none.
    public var `operator`: Address
    public var token: Address
    public var salt: Hash32
    /// Signs vouchers instead of the payer when not zero.
    public var authorizedSigner: Address
    /// keccak256(the open transaction's sender preimage ‖ payer).
    public var expiringNonceHash: Hash32

    public init(
        payer: Address, payee: Address, operator: Address, token: Address, salt: Hash32, authorizedSigner: Address,
        expiringNonceHash: Hash32
    ) {
        self.payer = payer
        self.payee = payee
        self.operator = `operator`
        self.token = token
        self.salt = salt
        self.authorizedSigner = authorizedSigner
        self.expiringNonceHash = expiringNonceHash
    }

    /// The descriptor as ABI values (a static tuple is its fields in line).
    public var abiValues: [ABIValue] {
        [
            .address(payer), .address(payee), .address(`operator`), .address(token), .bytes32(salt), .address(authorizedSigner),
            .bytes32(expiringNonceHash),
        ]
    }

    /// The ABI types of ``abiValues``.
    public static let abiTypes: [ABIType] = [.address, .address, .address, .address, .bytes32, .address, .bytes32]

    /// Reads the seven values of ``abiTypes``.
    public init(abiValues v: [ABIValue]) {
        self.init(
            payer: v[0].address!, payee: v[1].address!, operator: v[2].address!, token: v[3].address!, salt: v[4].bytes32!,
            authorizedSigner: v[5].address!, expiringNonceHash: v[6].bytes32!)
    }

    /// keccak256(abi.encode(payer, payee, operator, token, salt, authorizedSigner, expiringNonceHash, escrow, chainId)).
    public func channelID(escrow: Address = TempoChannelEscrow.v2Address, chainID: UInt64) -> Hash32 {
        Keccak256.hash(ABI.encode(abiValues + [.address(escrow), .uint(UInt256(chainID))]))
    }

    /// Who must sign vouchers: the authorized signer, else the payer.
    public var expectedSigner: Address { authorizedSigner == .zero ? payer : authorizedSigner }
}

/// The events both escrows emit (channel id, payer and payee indexed).
public enum TempoChannelEvent: String, Sendable, Hashable, CaseIterable {
    case channelOpened = "ChannelOpened"
    case settled = "Settled"
    case topUp = "TopUp"
    case closeRequested = "CloseRequested"
    case closeRequestCancelled = "CloseRequestCancelled"
    case channelClosed = "ChannelClosed"
}

extension TempoChannelEscrow {
    /// The event's Solidity signature on this escrow (v2 amounts are `uint96`).
    public func signature(of event: TempoChannelEvent) -> String {
        let amount = self == .v1 ? "uint256" : "uint96"
        let head = "bytes32,address,address"
        switch event {
        case .channelOpened:
            return self == .v1
                ? "ChannelOpened(\(head),address,address,uint256)" : "ChannelOpened(\(head),address,address,address,bytes32,bytes32,uint96)"
        case .settled: return "Settled(\(head),\(amount),\(amount),\(amount))"
        case .topUp: return "TopUp(\(head),\(amount),\(amount))"
        case .closeRequested: return "CloseRequested(\(head),uint256)"
        case .closeRequestCancelled: return "CloseRequestCancelled(\(head))"
        case .channelClosed: return "ChannelClosed(\(head),\(amount),\(amount))"
        }
    }

    /// The event's topic 0.
    public func topic(of event: TempoChannelEvent) -> Hash32 { Keccak256.hash(signature(of: event)) }

    /// Which event a topic 0 is, if any.
    public func event(forTopic topic: Hash32) -> TempoChannelEvent? {
        TempoChannelEvent.allCases.first { self.topic(of: $0) == topic }
    }
}
