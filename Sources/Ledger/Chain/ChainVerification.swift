/// The result of ``PostgresLedger/verifyChain(fromCheckpoint:publicKey:examples:)``.
public struct ChainVerification: Sendable, Hashable, Codable {
    /// One row or checkpoint that does not match.
    public struct Finding: Sendable, Hashable, Codable {
        /// Stable kind: `checkpoint_key`, `checkpoint_signature`, `checkpoint_root`, `account_missing`,
        /// `account_mismatch`, `link_missing`, `entry_missing`, `transfer_missing`, `link_mismatch`,
        /// `head_missing`, `head_mismatch`, `links_past_head`, `transfer_not_chained`.
        public var problem: String
        public var checkpoint: Int64?
        public var account: Int64?
        public var accountVersion: Int64?
        /// The transfer of the row, or for a row that is gone, of the row before it in its account:
        /// findings are ordered by it.
        public var transferSeq: Int64?
        /// A line for humans, e.g. `entry (merchant:a #12, version 3) of transfer 41: stored link ≠ recomputed`.
        public var message: String

        /// Checkpoints first, then rows in transfer order, then by account and version.
        var order: (Int, Int64, Int64, Int64) {
            (checkpoint == nil ? 1 : 0, transferSeq ?? checkpoint ?? 0, account ?? 0, accountVersion ?? 0)
        }
    }

    /// The checkpoint verification started from; nil from genesis.
    public var fromCheckpoint: Int64?
    /// Checkpoints whose signature and root were checked.
    public var checkpointsChecked: [Int64] = []
    /// Checkpoints signed by another key than the one given: not checked.
    public var checkpointsSkipped: [Int64] = []
    /// Account chains examined.
    public var accounts = 0
    /// Links recomputed from the rows and compared with the stored ones.
    public var links = 0
    /// Every transfer up to this seq must have a chained entry (the highest ``ChainCheckpoint/maxTransferSeq``
    /// of a verified checkpoint; 0 without one). Any transfer without an entry at all is reported.
    public var coveredThroughSeq: Int64 = 0
    /// How many findings in all.
    public var violations = 0
    /// The first findings in order (at most the number asked for); the first is the first bad row.
    public var findings: [Finding] = []

    public var passed: Bool { violations == 0 }
}
