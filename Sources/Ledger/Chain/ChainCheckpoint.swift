import Crypto

/// A signed statement of every account's chain head at one moment (decision 0031).
///
/// The root covers the sorted `(account_num, through_version, head)` of every chained account; the
/// Ed25519 signature covers the root, the time, the number of accounts and ``maxTransferSeq``. The
/// key that signs never enters the database, so a superuser holding the database alone cannot sign
/// a rewritten chain. Auditors keep the JSON line `settle chain checkpoint` prints, elsewhere.
public struct ChainCheckpoint: Sendable, Hashable, Codable {
    /// Assigned by the database; not signed.
    public var id: Int64
    /// Microseconds since the Unix epoch.
    public var takenAt: Int64
    /// Every transfer with this seq or a lower one was covered by a chained entry when the
    /// checkpoint was taken (or has no entry at all, which `settle verify --chain` reports).
    public var maxTransferSeq: Int64
    /// How many accounts the root covers.
    public var accounts: Int64
    /// Lowercase hex of the 32-byte root.
    public var root: String
    /// Lowercase hex of the 64-byte Ed25519 signature.
    public var signature: String
    /// Which key signed: see ``ChainKey/id(of:)``.
    public var keyID: String

    /// The bytes the signature covers.
    var message: [UInt8] {
        HashChain.checkpointMessage(
            takenAt: takenAt, maxTransferSeq: maxTransferSeq, accounts: accounts, root: ChainKey.bytes(hex: root) ?? [])
    }

    /// Whether the signature is `key`'s over this checkpoint's fields.
    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
        guard let signature = ChainKey.bytes(hex: signature) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
