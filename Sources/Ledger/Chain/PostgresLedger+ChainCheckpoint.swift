import Crypto
import Logging
import PostgresNIO

extension PostgresLedger {
    /// Signs the chain as it stands: the root of every account's `(account_num, through_version,
    /// head)` and the highest transfer seq below which every transfer is chained; stores the
    /// checkpoint with the versions it signed and returns it. Run ``advanceChain(maxLinksPerRound:maxAccountsPerRound:)``
    /// first to sign what is committed.
    ///
    /// Taken under the chainers' lock, so that no head moves while it is read; the write path is not
    /// held. The key is used here and never stored.
    public func takeChainCheckpoint(signingKey: Curve25519.Signing.PrivateKey) async throws(LedgerError) -> ChainCheckpoint {
        try await database {
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("select pg_advisory_xact_lock(\(Self.chainLockKey))", logger: logger)
                // now() is the transaction's time: the microseconds signed are exactly the stored taken_at.
                var takenAt: Int64 = 0
                for try await t in try await conn.query("select \(unescaped: ChainRows.micros("now()"))", logger: logger).decode(Int64.self)
                {
                    takenAt = t
                }
                var root = HashChain.Root()
                for try await (account, through, head) in try await conn.query(
                    "select account_num, through_version, head from settle.chain_heads order by account_num", logger: logger
                ).decode((Int64, Int64, ByteBuffer).self) {
                    root.add(account: account, throughVersion: through, head: Array(head.readableBytesView))
                }
                // Below the first transfer that has an entry not chained yet, every transfer is chained
                // (or has no entry at all, which the verifier reports).
                var maxTransferSeq: Int64 = 0
                for try await seq in try await conn.query(
                    """
                    select coalesce(
                        (select min(e.transfer_seq) - 1
                           from settle.balances b left join settle.chain_heads h on h.account_num = b.account_num
                           join settle.entries e on e.account_num = b.account_num and e.account_version > coalesce(h.through_version, 0)
                          where b.version > coalesce(h.through_version, 0)),
                        (select max(seq) from settle.transfers), 0)
                    """, logger: logger
                ).decode(Int64.self) {
                    maxTransferSeq = seq
                }
                let rootBytes = root.finalize()
                let message = HashChain.checkpointMessage(
                    takenAt: takenAt, maxTransferSeq: maxTransferSeq, accounts: root.accounts, root: rootBytes)
                let signature = Array(try signingKey.signature(for: message))
                let keyID = ChainKey.id(of: signingKey.publicKey)
                var id: Int64 = 0
                for try await inserted in try await conn.query(
                    """
                    insert into settle.chain_checkpoints (taken_at, max_transfer_seq, accounts, root, signature, key_id)
                    values (now(), \(maxTransferSeq), \(root.accounts), \(ByteBuffer(bytes: rootBytes)), \(ByteBuffer(bytes: signature)), \(keyID))
                    returning id
                    """, logger: logger
                ).decode(Int64.self) {
                    id = inserted
                }
                // Only the accounts that moved since the previous checkpoint: a version at checkpoint K
                // is an account's row with the highest checkpoint id up to K.
                try await conn.query(
                    """
                    insert into settle.chain_checkpoint_heads (checkpoint_id, account_num, through_version)
                    select \(id), h.account_num, h.through_version from settle.chain_heads h
                     where h.through_version is distinct from
                           (select c.through_version from settle.chain_checkpoint_heads c
                             where c.account_num = h.account_num order by c.checkpoint_id desc limit 1)
                    """, logger: logger)
                return ChainCheckpoint(
                    id: id, takenAt: takenAt, maxTransferSeq: maxTransferSeq, accounts: root.accounts, root: rootBytes.lowercaseHex,
                    signature: signature.lowercaseHex, keyID: keyID)
            }
        }
    }

    /// The stored checkpoints, oldest first; with `from`, that one and the later ones.
    public func chainCheckpoints(from: Int64? = nil) async throws(LedgerError) -> [ChainCheckpoint] {
        try await database {
            try await client.withConnection { conn in try await Self.checkpoints(from: from ?? 0, on: conn, logger: logger) }
        }
    }

    static func checkpoints(from: Int64, on connection: PostgresConnection, logger: Logger) async throws -> [ChainCheckpoint] {
        var checkpoints: [ChainCheckpoint] = []
        for try await (id, takenAt, maxSeq, accounts, root, signature, keyID) in try await connection.query(
            """
            select id, \(unescaped: ChainRows.micros("taken_at")), max_transfer_seq, accounts, root, signature, key_id
              from settle.chain_checkpoints where id >= \(from) order by id
            """, logger: logger
        ).decode((Int64, Int64, Int64, Int64, ByteBuffer, ByteBuffer, String).self) {
            checkpoints.append(
                ChainCheckpoint(
                    id: id, takenAt: takenAt, maxTransferSeq: maxSeq, accounts: accounts, root: Array(root.readableBytesView).lowercaseHex,
                    signature: Array(signature.readableBytesView).lowercaseHex, keyID: keyID))
        }
        return checkpoints
    }
}
