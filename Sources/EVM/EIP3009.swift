/// An EIP-3009 message a token holder signs: the struct hash is computed straight from the
/// fields (no generic encoder, no heap), since it is on the hot path of payment verification.
public protocol EIP3009Authorization: Sendable, Hashable {
    /// The EIP-712 type, e.g. `TransferWithAuthorization(address from,…,bytes32 nonce)`.
    static var encodedType: String { get }
    /// keccak256(``encodedType``).
    static var typeHash: Hash32 { get }
    /// Whoever must have signed: `from`, or `authorizer` for a cancellation.
    var signer: Address { get }
    /// The words of encodeData after the type hash, in field order.
    func forEachWord(_ body: (Hash32) -> Void)
}

extension EIP3009Authorization {
    /// hashStruct(self) = keccak256(typeHash ‖ encodeData).
    public var structHash: Hash32 {
        var hasher = Keccak256()
        Self.typeHash.withUnsafeBytes { hasher.update($0) }
        forEachWord { word in word.withUnsafeBytes { hasher.update($0) } }
        return hasher.finalize()
    }

    /// The EIP-712 digest that the signer signs, in the token's domain.
    public func digest(in domain: TokenDomain) -> Hash32 {
        EIP712.digest(domainSeparator: domain.separator, structHash: structHash)
    }

    /// Signs the authorization (what a wallet's `signTypedData` does).
    public func sign(with key: PrivateKey, in domain: TokenDomain) -> Signature {
        key.sign(digest: digest(in: domain))
    }

    /// The address that signed the authorization in the token's domain.
    ///
    /// High-s signatures are rejected, as FiatToken (through OpenZeppelin's `ECDSA.recover`) does.
    ///
    /// - Throws: ``EVMError/Code/highS`` or ``EVMError/Code/recoveryFailed``.
    public func recoverSigner(_ signature: Signature, in domain: TokenDomain) throws(EVMError) -> Address {
        try signature.recoverAddress(from: digest(in: domain))
    }

    /// Checks that ``signer`` signed the authorization in the token's domain.
    ///
    /// - Throws: ``EVMError/Code/invalidSignature`` when another key signed (a wrong domain name
    ///   or version looks like that too), or the errors of ``recoverSigner(_:in:)``.
    public func verify(_ signature: Signature, in domain: TokenDomain) throws(EVMError) {
        let recovered = try recoverSigner(signature, in: domain)
        guard recovered == signer else {
            throw EVMError(.invalidSignature, "signature recovers to \(recovered), not \(signer)")
        }
    }
}

/// Which of the two value-moving EIP-3009 messages a ``ValueAuthorization`` is: they carry the
/// same fields and differ only in their type name (and in who may submit them).
public protocol ValueAuthorizationKind: Sendable, Hashable {
    static var encodedType: String { get }
    static var typeHash: Hash32 { get }
}

/// `TransferWithAuthorization`'s kind: anyone may submit it; the token moves `value` from `from`
/// to `to`. What x402's `exact` scheme signs.
public enum TransferKind: ValueAuthorizationKind {
    public static let encodedType =
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    /// `0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267`.
    public static let typeHash = Keccak256.hash(encodedType)
}

/// `ReceiveWithAuthorization`'s kind: like a transfer, but only `to` may submit it (front-running
/// protection); what batch-settlement deposits sign.
public enum ReceiveKind: ValueAuthorizationKind {
    public static let encodedType =
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    /// `0xd099cc98ef71107a616c4f0f941f04c322d8e254fe26b3c6668db87aae413de8`.
    public static let typeHash = Keccak256.hash(encodedType)
}

/// `TransferWithAuthorization`: anyone may submit it. What x402's `exact` scheme signs.
public typealias TransferWithAuthorization = ValueAuthorization<TransferKind>
/// `ReceiveWithAuthorization`: only `to` may submit it.
public typealias ReceiveWithAuthorization = ValueAuthorization<ReceiveKind>

/// An EIP-3009 authorization that moves `value` from `from` to `to`.
public struct ValueAuthorization<Kind: ValueAuthorizationKind>: EIP3009Authorization {
    public static var encodedType: String { Kind.encodedType }
    public static var typeHash: Hash32 { Kind.typeHash }

    public var from: Address
    public var to: Address
    public var value: UInt256
    /// Unix seconds; the token requires `block.timestamp > validAfter`.
    public var validAfter: UInt256
    /// Unix seconds; the token requires `block.timestamp < validBefore`.
    public var validBefore: UInt256
    /// 32 random bytes; unique per `from`, enforced by the token.
    public var nonce: Hash32

    public init(from: Address, to: Address, value: UInt256, validAfter: UInt256, validBefore: UInt256, nonce: Hash32) {
        self.from = from
        self.to = to
        self.value = value
        self.validAfter = validAfter
        self.validBefore = validBefore
        self.nonce = nonce
    }

    public var signer: Address { from }

    public func forEachWord(_ body: (Hash32) -> Void) {
        body(from.word)
        body(to.word)
        body(value.word)
        body(validAfter.word)
        body(validBefore.word)
        body(nonce)
    }
}

/// `CancelAuthorization`: marks an unused nonce of `authorizer` as used.
public struct CancelAuthorization: EIP3009Authorization {
    public static let encodedType = "CancelAuthorization(address authorizer,bytes32 nonce)"
    /// `0x158b0a9edf7a828aad02f63cd515c68ef2f50ba807396f6d12842833a1597429`.
    public static let typeHash = Keccak256.hash(encodedType)

    public var authorizer: Address
    public var nonce: Hash32

    public init(authorizer: Address, nonce: Hash32) {
        self.authorizer = authorizer
        self.nonce = nonce
    }

    public var signer: Address { authorizer }

    public func forEachWord(_ body: (Hash32) -> Void) {
        body(authorizer.word)
        body(nonce)
    }
}
