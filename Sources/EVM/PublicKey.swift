import CSecp256k1

/// A secp256k1 public key (a point on the curve).
public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The 64 bytes `x ‖ y`, big-endian.
    public let xy: [UInt8]

    init(raw key: secp256k1_pubkey) {
        var key = key
        var out = [UInt8](repeating: 0, count: 65)
        var length = 65
        _ = secp256k1_ec_pubkey_serialize(Secp256k1Context.shared.pointer, &out, &length, &key, UInt32(SECP256K1_EC_UNCOMPRESSED))
        xy = Array(out[1...])
    }

    /// Parses a SEC 1 encoding: 33 bytes compressed, 65 bytes uncompressed (`04 ‖ x ‖ y`), or the
    /// 64 bytes `x ‖ y` that Ethereum tooling passes around.
    ///
    /// - Throws: ``EVMError/Code/invalidPublicKey`` unless the bytes are a point on the curve.
    public init(bytes: some Collection<UInt8>) throws(EVMError) {
        var input = Array(bytes)
        if input.count == 64 { input.insert(0x04, at: 0) }
        guard input.count == 33 || input.count == 65 else {
            throw EVMError(.invalidPublicKey, "a public key has 33, 64 or 65 bytes, got \(input.count)")
        }
        var key = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_parse(Secp256k1Context.shared.pointer, &key, input, input.count) == 1 else {
            throw EVMError(.invalidPublicKey, "the bytes are not a point on secp256k1")
        }
        self.init(raw: key)
    }

    /// The 65-byte uncompressed SEC 1 encoding `04 ‖ x ‖ y`.
    public var uncompressed: [UInt8] { [0x04] + xy }

    /// The 33-byte compressed SEC 1 encoding.
    public var compressed: [UInt8] { [xy[63] & 1 == 0 ? 0x02 : 0x03] + xy[0..<32] }

    /// The account address: the last 20 bytes of keccak256(x ‖ y).
    public var address: Address { Address(lastBytesOf: Keccak256.hash(xy)) }

    public var description: String { Hex.encode(uncompressed) }
}
