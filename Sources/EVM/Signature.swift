import CSecp256k1

/// A recoverable secp256k1 ECDSA signature as Ethereum carries it: `r`, `s` and a recovery id.
///
/// Every value is structurally valid: `r` and `s` are in `1..<n` and the recovery id is 0 or 1.
/// `s` may still be in the upper half of the order; EIP-2 forbids that for transactions and
/// OpenZeppelin's `ECDSA.recover` (used by FiatToken's EIP-3009) for authorizations, so
/// ``recoverAddress(from:requireLowS:)`` rejects it unless told otherwise, and ``normalized()``
/// maps it to the equivalent low-s signature.
public struct Signature: Sendable, Hashable, CustomStringConvertible {
    /// The `r` value, big-endian.
    public let r: Hash32
    /// The `s` value, big-endian.
    public let s: Hash32
    /// The recovery id (y parity of the nonce point): 0 or 1. Typed transactions call it `yParity`.
    public let recoveryID: UInt8

    /// `v` as `eth_sign` and EIP-3009 calls carry it: 27 or 28.
    public var v: UInt8 { 27 + recoveryID }

    /// Makes a signature from its parts.
    ///
    /// - Parameter v: 0, 1, 27 or 28 (EIP-155 `v` values of legacy transactions are decoded by
    ///   ``LegacyTransaction``, not here).
    /// - Throws: ``EVMError/Code/invalidRecoveryID`` for another `v`, ``EVMError/Code/invalidSignature``
    ///   when `r` or `s` is zero or not below the curve order.
    public init(r: Hash32, s: Hash32, v: UInt8) throws(EVMError) {
        let recoveryID: UInt8
        switch v {
        case 0, 1: recoveryID = v
        case 27, 28: recoveryID = v - 27
        default: throw EVMError(.invalidRecoveryID, "v must be 0, 1, 27 or 28, got \(v)")
        }
        let rValue = r.uint256
        let sValue = s.uint256
        guard !rValue.isZero, !sValue.isZero, rValue < Secp256k1Curve.order, sValue < Secp256k1Curve.order else {
            throw EVMError(.invalidSignature, "r and s must be in 1..<n")
        }
        self.r = r
        self.s = s
        self.recoveryID = recoveryID
    }

    /// Parses the 65 bytes `r ‖ s ‖ v` that wallets produce.
    ///
    /// - Throws: ``EVMError/Code/invalidLength`` unless 65 bytes, and the errors of ``init(r:s:v:)``.
    public init(bytes: some Collection<UInt8>) throws(EVMError) {
        guard bytes.count == 65 else { throw EVMError(.invalidLength, "a signature has 65 bytes, got \(bytes.count)") }
        // Straight from contiguous storage when there is some: this is on the verification hot path.
        let parts = bytes.withContiguousStorageIfAvailable { buffer in
            let raw = UnsafeRawBufferPointer(buffer)
            return (Hash32(loading: raw), Hash32(loading: UnsafeRawBufferPointer(rebasing: raw[32..<64])), buffer[64])
        }
        if let (r, s, v) = parts {
            try self.init(r: r, s: s, v: v)
        } else {
            let array = Array(bytes)
            try self.init(r: Hash32(bytes: array[0..<32]), s: Hash32(bytes: array[32..<64]), v: array[64])
        }
    }

    /// Parses `0x` and 130 hex digits (`r ‖ s ‖ v`).
    public init(hex: some StringProtocol) throws(EVMError) {
        try self.init(bytes: Hex.decode(hex))
    }

    /// `r ‖ s ‖ v` with `v` = 27 or 28, as wallets and the x402 payload write it.
    public var bytes: [UInt8] { r.bytes + s.bytes + [v] }

    /// ``bytes`` as `0x`-prefixed hex.
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    /// Whether `s` ≤ n/2, as EIP-2 requires.
    public var isLowS: Bool { s.uint256 <= Secp256k1Curve.halfOrder }

    /// The equivalent signature with `s` ≤ n/2: (r, n − s) with the other recovery id recovers the
    /// same key.
    public func normalized() -> Signature {
        guard !isLowS else { return self }
        return Signature(unchecked: r, (Secp256k1Curve.order - s.uint256).word, recoveryID ^ 1)
    }

    init(unchecked r: Hash32, _ s: Hash32, _ recoveryID: UInt8) {
        self.r = r
        self.s = s
        self.recoveryID = recoveryID
    }

    /// Recovers the public key that signed `digest`.
    ///
    /// - Throws: ``EVMError/Code/highS`` when `requireLowS` and `s` > n/2,
    ///   ``EVMError/Code/recoveryFailed`` when no key matches.
    public func recoverPublicKey(from digest: Hash32, requireLowS: Bool = true) throws(EVMError) -> PublicKey {
        try PublicKey(raw: recoverRaw(digest, requireLowS: requireLowS))
    }

    /// Recovers the address that signed `digest` (Solidity's `ecrecover` plus the low-s rule).
    ///
    /// This is the hot path of every signature check: everything stays on the stack.
    ///
    /// - Throws: ``EVMError/Code/highS`` when `requireLowS` and `s` > n/2,
    ///   ``EVMError/Code/recoveryFailed`` when no key matches.
    public func recoverAddress(from digest: Hash32, requireLowS: Bool = true) throws(EVMError) -> Address {
        var key = try recoverRaw(digest, requireLowS: requireLowS)
        let context = Secp256k1Context.shared.pointer
        return withUnsafeTemporaryAllocation(byteCount: 65, alignment: 8) { buffer in
            var length = 65
            let out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            _ = secp256k1_ec_pubkey_serialize(context, out, &length, &key, UInt32(SECP256K1_EC_UNCOMPRESSED))
            return Address(lastBytesOf: Keccak256.hash(UnsafeRawBufferPointer(rebasing: buffer[1..<65])))
        }
    }

    private func recoverRaw(_ digest: Hash32, requireLowS: Bool) throws(EVMError) -> secp256k1_pubkey {
        if requireLowS && !isLowS {
            throw EVMError(.highS, "signature s is above n/2 (malleable); normalize it or sign with a low-s signer")
        }
        let context = Secp256k1Context.shared.pointer
        var compact = (r.storage, s.storage)
        var message = digest.storage
        var recoverable = secp256k1_ecdsa_recoverable_signature()
        var key = secp256k1_pubkey()
        let recovered = withUnsafeBytes(of: &compact) { compact in
            withUnsafeBytes(of: &message) { message in
                let c = compact.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let m = message.baseAddress!.assumingMemoryBound(to: UInt8.self)
                return secp256k1_ecdsa_recoverable_signature_parse_compact(context, &recoverable, c, Int32(recoveryID)) == 1
                    && secp256k1_ecdsa_recover(context, &key, &recoverable, m) == 1
            }
        }
        guard recovered else { throw EVMError(.recoveryFailed, "no public key recovers from this signature and digest") }
        return key
    }
}
