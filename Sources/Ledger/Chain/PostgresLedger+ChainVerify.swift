import Crypto
import Logging
import PostgresNIO

extension PostgresLedger {
    /// Proves the hash chain from genesis, or from a checkpoint, over one consistent snapshot.
    ///
    /// With a public key, each checkpoint in scope (from `fromCheckpoint` on, or all) signed by that
    /// key has its signature checked and its root recomputed from the stored links at the versions
    /// it signed. Then every stored link after the starting point is recomputed from the rows (the
    /// account row for link 0, the entry and its transfer after) and compared; every head must be
    /// the stored link at its version; every transfer up to the verified checkpoints' transfer seq
    /// must have a chained entry, and every transfer at least one entry.
    ///
    /// - Parameters:
    ///   - fromCheckpoint: start from this checkpoint's signed heads instead of genesis (needs `publicKey`).
    ///   - examples: how many findings to keep, the first in transfer order first.
    /// - Throws: ``LedgerError/Code/checkpointNotFound``, ``LedgerError/Code/invalidChainKey``
    ///   (a checkpoint without a key), ``LedgerError/Code/database``.
    public func verifyChain(
        fromCheckpoint: Int64? = nil, publicKey: Curve25519.Signing.PublicKey?, examples: Int = 20
    ) async throws(LedgerError) -> ChainVerification {
        if fromCheckpoint != nil, publicKey == nil {
            throw LedgerError(.invalidChainKey, "verifying from a checkpoint needs the public key that signed it")
        }
        return try await database {
            try await client.withConnection { conn in
                try await conn.query("begin isolation level repeatable read read only", logger: logger)
                do {
                    var verifier = ChainVerifier(conn: conn, logger: logger, examples: max(examples, 1))
                    try await verifier.run(fromCheckpoint: fromCheckpoint, publicKey: publicKey)
                    try await conn.query("commit", logger: logger)
                    return verifier.report
                } catch {
                    _ = try? await conn.query("rollback", logger: logger)
                    throw error
                }
            }
        }
    }
}

/// The state of one chain verification: the snapshot's connection, what is known of each account,
/// and the findings so far.
private struct ChainVerifier {
    let conn: PostgresConnection
    let logger: Logger
    let examples: Int
    var report = ChainVerification()
    /// Account ids by num, to name rows.
    var names: [Int64: String] = [:]
    /// Where each account's recomputation starts: the checkpoint's signed version and link, or
    /// version 0 and the stored genesis link once it is checked.
    var start: [Int64: (version: Int64, link: [UInt8])] = [:]

    init(conn: PostgresConnection, logger: Logger, examples: Int) {
        self.conn = conn
        self.logger = logger
        self.examples = examples
    }

    mutating func run(fromCheckpoint: Int64?, publicKey: Curve25519.Signing.PublicKey?) async throws {
        for try await (num, id) in try await conn.query("select num, id from settle.accounts", logger: logger).decode((Int64, String).self)
        {
            names[num] = id
        }
        report.fromCheckpoint = fromCheckpoint
        if let publicKey { try await checkCheckpoints(from: fromCheckpoint, key: publicKey) }
        try await checkGenesis()
        try await checkLinks()
        try await checkHeads()
        try await checkCoverage()
        report.findings.sort { $0.order < $1.order }
        report.findings = Array(report.findings.prefix(examples))
    }

    func name(_ account: Int64) -> String { names[account].map { "\($0) #\(account)" } ?? "#\(account)" }

    mutating func record(
        _ problem: String, _ message: String, checkpoint: Int64? = nil, account: Int64? = nil, version: Int64? = nil, transfer: Int64? = nil
    ) {
        report.violations += 1
        report.findings.append(
            .init(
                problem: problem, checkpoint: checkpoint, account: account, accountVersion: version, transferSeq: transfer, message: message
            ))
        // Only the first `examples` are kept: a truncated table must not fill memory with findings.
        if report.findings.count > 4 * examples {
            report.findings.sort { $0.order < $1.order }
            report.findings.removeLast(report.findings.count - examples)
        }
    }

    /// Signature and root of each checkpoint in scope; the starting heads when verifying from one.
    mutating func checkCheckpoints(from: Int64?, key: Curve25519.Signing.PublicKey) async throws {
        let checkpoints = try await PostgresLedger.checkpoints(from: from ?? 0, on: conn, logger: logger)
        if let from, checkpoints.first?.id != from {
            throw LedgerError(.checkpointNotFound, "there is no chain checkpoint \(from)")
        }
        let keyID = ChainKey.id(of: key)
        for checkpoint in checkpoints {
            let c = checkpoint.id
            guard checkpoint.keyID == keyID else {
                if c == from {
                    record(
                        "checkpoint_key", "checkpoint \(c): signed by key \(checkpoint.keyID), not by the key given (\(keyID))",
                        checkpoint: c)
                } else {
                    report.checkpointsSkipped.append(c)
                }
                continue
            }
            report.checkpointsChecked.append(c)
            guard checkpoint.isSigned(by: key) else {
                record("checkpoint_signature", "checkpoint \(c): the signature does not verify with key \(keyID)", checkpoint: c)
                continue
            }
            var root = HashChain.Root()
            var heads: [Int64: (version: Int64, link: [UInt8])] = [:]
            var missing = 0
            for try await (account, version, link) in try await conn.query(
                """
                select v.account_num, v.through_version, l.link
                  from (select distinct on (account_num) account_num, through_version from settle.chain_checkpoint_heads
                         where checkpoint_id <= \(c) order by account_num, checkpoint_id desc) v
                  left join settle.chain_links l on l.account_num = v.account_num and l.account_version = v.through_version
                 order by v.account_num
                """, logger: logger
            ).decode((Int64, Int64, ByteBuffer?).self) {
                let bytes = link.map { Array($0.readableBytesView) } ?? []
                if link == nil {
                    missing += 1
                    record(
                        "checkpoint_root", "checkpoint \(c): the link (\(name(account)), version \(version)) it signed is missing",
                        checkpoint: c, account: account, version: version)
                }
                root.add(account: account, throughVersion: version, head: bytes)
                heads[account] = (version, bytes)
            }
            let recomputed = root.finalize().lowercaseHex
            if missing == 0, recomputed != checkpoint.root || root.accounts != checkpoint.accounts {
                record(
                    "checkpoint_root",
                    "checkpoint \(c): the stored links at its versions give root \(recomputed) over \(root.accounts) accounts; it signed \(checkpoint.root) over \(checkpoint.accounts)",
                    checkpoint: c)
            } else if missing == 0 {
                report.coveredThroughSeq = max(report.coveredThroughSeq, checkpoint.maxTransferSeq)
                if c == from { start = heads }
            }
        }
    }

    /// Link 0 of every account not started from a checkpoint, against its account row.
    mutating func checkGenesis() async throws {
        let rows = try await conn.query(
            PostgresQuery(
                unsafeSQL: """
                    select l.account_num, l.link, \(ChainRows.account.sql)
                      from settle.chain_links l left join settle.accounts a on a.num = l.account_num
                     where l.account_version = 0 order by l.account_num
                    """), logger: logger)
        for try await row in rows {
            let r = row.makeRandomAccess()
            let num = try r[0].decode(Int64.self)
            let stored = Array(try r[1].decode(ByteBuffer.self).readableBytesView)
            guard start[num] == nil else { continue }
            report.accounts += 1
            start[num] = (0, stored)
            guard let account = try ChainRows.Row(r, at: 2, of: ChainRows.account) else {
                record("account_missing", "account \(name(num)): chained, but its row is missing", account: num, version: 0)
                continue
            }
            if HashChain.genesis(account) != stored {
                record("account_mismatch", "account \(name(num)): stored link 0 ≠ recomputed from its row", account: num, version: 0)
            }
        }
    }

    /// Every stored link after its account's start, recomputed from its entry and transfer.
    mutating func checkLinks() async throws {
        let accounts = Array(start.keys)
        var binds = PostgresBindings()
        try binds.append(accounts, context: .default)
        try binds.append(accounts.map { start[$0]!.version }, context: .default)
        let rows = try await conn.query(
            PostgresQuery(
                unsafeSQL: """
                    select l.account_num, l.account_version, l.link, \(ChainRows.entry.sql), \(ChainRows.transfer.sql)
                      from settle.chain_links l
                      left join unnest($1::int8[], $2::int8[]) as s(num, v) on s.num = l.account_num
                      left join settle.entries e on e.account_num = l.account_num and e.account_version = l.account_version
                      left join settle.transfers t on t.seq = e.transfer_seq
                     where l.account_version > coalesce(s.v, 0)
                     order by l.account_num, l.account_version
                    """, binds: binds), logger: logger)
        var current: Int64?
        var previous: [UInt8]?
        var expected: Int64 = 0
        var lastSeq: Int64 = 0
        for try await row in rows {
            let r = row.makeRandomAccess()
            let num = try r[0].decode(Int64.self)
            let version = try r[1].decode(Int64.self)
            let stored = Array(try r[2].decode(ByteBuffer.self).readableBytesView)
            if num != current {
                current = num
                previous = start[num]?.link
                expected = (start[num]?.version ?? 0) + 1
                lastSeq = 0
                if start[num] == nil {
                    report.accounts += 1
                    record("link_missing", "account \(name(num)): link 0 is missing", account: num, version: 0)
                }
            }
            if version != expected {
                record(
                    "link_missing", "account \(name(num)): links of versions \(expected)...\(version - 1) are missing", account: num,
                    version: expected, transfer: lastSeq)
                previous = nil
            }
            expected = version + 1
            report.links += 1
            defer { previous = stored }
            let offset = 3 + ChainRows.entry.count
            guard let entry = try ChainRows.Row(r, at: 3, of: ChainRows.entry) else {
                record(
                    "entry_missing", "entry (\(name(num)), version \(version)) missing (table truncated?)", account: num, version: version,
                    transfer: lastSeq)
                continue
            }
            lastSeq = entry.transferSeq
            guard let transfer = try ChainRows.Row(r, at: offset, of: ChainRows.transfer) else {
                record(
                    "transfer_missing", "entry (\(name(num)), version \(version)): its transfer \(entry.transferSeq) is missing",
                    account: num, version: version, transfer: entry.transferSeq)
                continue
            }
            // After a missing link there is nothing to chain from: the next link is checked again.
            guard let previous else { continue }
            if HashChain.link(after: previous, entry: entry, transfer: transfer) != stored {
                record(
                    "link_mismatch",
                    "entry (\(name(num)), version \(version)) of transfer \(transfer.key) (\(transfer.transferID)): stored link ≠ recomputed",
                    account: num, version: version, transfer: transfer.key)
            }
        }
    }

    /// Every head is the stored link at its version, and no link lies past it.
    mutating func checkHeads() async throws {
        for try await (num, through, head, link, top) in try await conn.query(
            """
            select h.account_num, h.through_version, h.head, l.link,
                   (select max(m.account_version) from settle.chain_links m where m.account_num = h.account_num)
              from settle.chain_heads h
              left join settle.chain_links l on l.account_num = h.account_num and l.account_version = h.through_version
             order by h.account_num
            """, logger: logger
        ).decode((Int64, Int64, ByteBuffer, ByteBuffer?, Int64?).self) {
            if link == nil {
                record(
                    "link_missing", "account \(name(num)): the link at its head, version \(through), is missing", account: num,
                    version: through)
            } else if link != head {
                record(
                    "head_mismatch", "account \(name(num)): head ≠ its stored link at version \(through)", account: num, version: through)
            }
            if let top, top > through {
                record(
                    "links_past_head", "account \(name(num)): links up to version \(top) past its head at \(through)", account: num,
                    version: through + 1)
            }
        }
        for try await num in try await conn.query(
            """
            select distinct l.account_num from settle.chain_links l
             where not exists (select 1 from settle.chain_heads h where h.account_num = l.account_num) order by 1
            """, logger: logger
        ).decode(Int64.self) {
            record("head_missing", "account \(name(num)): chained, but its head is missing", account: num)
        }
    }

    /// Transfers up to the verified transfer seq without a chained entry, and any without an entry.
    mutating func checkCoverage() async throws {
        var total: Int64 = 0
        var found = 0
        for try await (count, seq, id) in try await conn.query(
            """
            select count(*) over (), t.seq, t.id from settle.transfers t
             where (t.seq <= \(report.coveredThroughSeq) or not exists (select 1 from settle.entries e where e.transfer_seq = t.seq))
               and not exists (select 1 from settle.entries e join settle.chain_heads h on h.account_num = e.account_num
                                where e.transfer_seq = t.seq and e.account_version <= h.through_version)
             order by t.seq limit \(examples)
            """, logger: logger
        ).decode((Int64, Int64, String).self) {
            total = count
            found += 1
            record("transfer_not_chained", "transfer seq \(seq) (\(id)) has no chained entry", transfer: seq)
        }
        // Those past the examples were counted, not listed.
        report.violations += Int(total) - found
    }
}
