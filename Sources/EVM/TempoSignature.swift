/// The sender signature of a Tempo transaction.
///
/// Tempo accepts several signature schemes, told apart by length and a leading type byte: 65 bytes
/// `r ‖ s ‖ v` are secp256k1; `0x01` P256, `0x02` WebAuthn, `0x03`/`0x04` keychain (access keys) and
/// `0x05` multisig carry their scheme's payload. Only secp256k1 is verified here; the others are kept
/// byte for byte so that a transaction re-encodes (and hashes) exactly as received.
public enum TempoSignature: Sendable, Hashable {
    case secp256k1(Signature)
    /// Another scheme's serialized envelope (first byte: its type).
    case other([UInt8])

    /// Parses the serialized signature of a transaction's last field.
    ///
    /// - Throws: ``EVMError/Code/invalidSignature`` for an empty one, the errors of
    ///   ``Signature/init(bytes:)`` for a malformed 65-byte one.
    public init(bytes: [UInt8]) throws(EVMError) {
        guard !bytes.isEmpty else { throw EVMError(.invalidSignature, "the sender signature is empty") }
        self = bytes.count == 65 ? .secp256k1(try Signature(bytes: bytes)) : .other(bytes)
    }

    /// The serialized form; secp256k1 with `v` = 27 or 28, as Tempo nodes normalize it before hashing.
    public var bytes: [UInt8] {
        switch self {
        case .secp256k1(let signature): signature.bytes
        case .other(let bytes): bytes
        }
    }
}
