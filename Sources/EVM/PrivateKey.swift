import CSecp256k1

/// A secp256k1 private key that signs 32-byte digests.
///
/// Signing is deterministic (RFC 6979, libsecp256k1's default nonce function), so it produces the
/// same signatures as eth-account, and always low-s.
public struct PrivateKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let secret: Hash32

    /// Wraps 32 bytes.
    ///
    /// - Throws: ``EVMError/Code/invalidLength`` unless 32 bytes, ``EVMError/Code/invalidPrivateKey``
    ///   for zero or a value not below the curve order.
    public init(bytes: some Collection<UInt8>) throws(EVMError) {
        let secret = try Hash32(bytes: bytes)
        let valid = secret.withUnsafeBytes { raw in
            secp256k1_ec_seckey_verify(Secp256k1Context.shared.pointer, raw.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
        }
        guard valid else { throw EVMError(.invalidPrivateKey, "a private key must be in 1..<n") }
        self.secret = secret
    }

    /// Parses 64 hex digits, with or without `0x`.
    public init(hex: some StringProtocol) throws(EVMError) {
        try self.init(bytes: Hex.decode(String(hex), count: 32))
    }

    /// A new key from the system's secure random number generator.
    public static func random() -> PrivateKey {
        var generator = SystemRandomNumberGenerator()
        while true {
            let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            if let key = try? PrivateKey(bytes: bytes) { return key }
        }
    }

    /// The 32 secret bytes. Handle with care.
    public var bytes: [UInt8] { secret.bytes }

    /// The matching public key.
    public var publicKey: PublicKey {
        var key = secp256k1_pubkey()
        let created = secret.withUnsafeBytes { raw in
            secp256k1_ec_pubkey_create(Secp256k1Context.shared.pointer, &key, raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        precondition(created == 1, "a verified private key always has a public key")
        return PublicKey(raw: key)
    }

    /// The account address of the key.
    public var address: Address { publicKey.address }

    /// Signs a 32-byte digest (not a message: hash it first, EIP-712 or EIP-191 style).
    public func sign(digest: Hash32) -> Signature {
        let context = Secp256k1Context.shared.pointer
        var recoverable = secp256k1_ecdsa_recoverable_signature()
        var compact = (Hash32.zero.storage, Hash32.zero.storage)
        var recoveryID: Int32 = 0
        let signed = secret.withUnsafeBytes { key in
            digest.withUnsafeBytes { message in
                secp256k1_ecdsa_sign_recoverable(
                    context, &recoverable, message.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    key.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, nil)
            }
        }
        precondition(signed == 1, "signing with a verified key and the default nonce function cannot fail")
        withUnsafeMutableBytes(of: &compact) { out in
            _ = secp256k1_ecdsa_recoverable_signature_serialize_compact(
                context, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &recoveryID, &recoverable)
        }
        return Signature(unchecked: Hash32(storage: compact.0), Hash32(storage: compact.1), UInt8(recoveryID))
    }

    public var description: String { "PrivateKey(address: \(address))" }
    public var debugDescription: String { description }
}
