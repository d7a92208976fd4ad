import Crypto

/// The one definition of the hash chain (decision 0031): how links, the checkpoint root and the
/// signed checkpoint message are computed. The chainer and the verifier both call these.
///
/// Each account has its own chain, ordered by `account_version`:
/// `link(a, 0) = SHA-256("settle-chain-v1" ‖ digest(account a))` and
/// `link(a, v) = SHA-256(link(a, v−1) ‖ digest(entry (a, v)) ‖ digest(its transfer))`, the digests
/// being SHA-256 of the rows' ``CanonicalEncoding``.
public enum HashChain {
    /// The first link of an account's chain, from its row.
    static func genesis(_ account: ChainRows.Row) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array("settle-chain-v1".utf8))
        hasher.update(data: account.digest)
        return Array(hasher.finalize())
    }

    /// The link of `entry`, which belongs to `transfer`, after `previous`.
    static func link(after previous: [UInt8], entry: ChainRows.Row, transfer: ChainRows.Row) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: entry.digest)
        hasher.update(data: transfer.digest)
        return Array(hasher.finalize())
    }

    /// Accumulates the root a checkpoint signs: SHA-256 over `(account_num, through_version, head)`
    /// of every account, in account order, each as two 8-byte big-endian integers and 32 bytes.
    /// Streaming, so that a checkpoint of many accounts needs no more memory than one.
    struct Root {
        private var hasher = SHA256()
        private var last: Int64?
        private(set) var accounts: Int64 = 0

        init() { hasher.update(data: Array("settle-root-v1".utf8)) }

        /// Adds the next account; accounts must come in increasing order of `account`.
        mutating func add(account: Int64, throughVersion: Int64, head: [UInt8]) {
            precondition(last.map { $0 < account } ?? true, "checkpoint heads must come in account order")
            last = account
            var bytes: [UInt8] = []
            bytes.appendBigEndian(account)
            bytes.appendBigEndian(throughVersion)
            hasher.update(data: bytes)
            hasher.update(data: head)
            accounts += 1
        }

        func finalize() -> [UInt8] { Array(hasher.finalize()) }
    }

    /// The bytes a checkpoint's signature covers: its time, the transfer seq it covers, its number
    /// of accounts and its root. The id is not signed: the database assigns it.
    static func checkpointMessage(takenAt: Int64, maxTransferSeq: Int64, accounts: Int64, root: [UInt8]) -> [UInt8] {
        var bytes = Array("settle-checkpoint-v1".utf8)
        bytes.appendBigEndian(takenAt)
        bytes.appendBigEndian(maxTransferSeq)
        bytes.appendBigEndian(accounts)
        return bytes + root
    }
}
