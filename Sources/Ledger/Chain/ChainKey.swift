import Crypto

/// Ed25519 keys of the checkpoints, as files and environment variables hold them: 64 lowercase hex
/// digits of the raw 32-byte key (a private key's seed or a public key), surrounding whitespace
/// ignored.
public enum ChainKey {
    /// A short, stable name of a public key: the first 8 bytes of SHA-256 of its raw form, in hex.
    public static func id(of key: Curve25519.Signing.PublicKey) -> String {
        Array(SHA256.hash(data: key.rawRepresentation).prefix(8)).lowercaseHex
    }

    public static func privateKey(hex text: String) throws(LedgerError) -> Curve25519.Signing.PrivateKey {
        guard let raw = bytes(hex: text.trimmingWhitespace), raw.count == 32,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else { throw LedgerError(.invalidChainKey, "a chain signing key is 64 hex digits (a raw Ed25519 private key)") }
        return key
    }

    public static func publicKey(hex text: String) throws(LedgerError) -> Curve25519.Signing.PublicKey {
        guard let raw = bytes(hex: text.trimmingWhitespace), raw.count == 32,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { throw LedgerError(.invalidChainKey, "a chain public key is 64 hex digits (a raw Ed25519 public key)") }
        return key
    }

    /// The bytes of even-length hex text, or nil.
    static func bytes(hex text: some StringProtocol) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = nibble(digits[i]), let low = nibble(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    fileprivate var trimmingWhitespace: Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
