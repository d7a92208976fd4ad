import Foundation
import PostgresNIO

extension PostgresLedger {
    /// Records a batch of transfers in one database round trip and returns one result per transfer,
    /// in order.
    ///
    /// Transfers are applied in order: a limit check sees the transfers accepted before it in the
    /// batch. A rejected transfer writes nothing. With `atomic`, nothing is written unless every
    /// transfer is created or already exists; the others are then rejected with
    /// ``LedgerError/Code/atomicBatchFailed``.
    ///
    /// `authority` is who posts the batch, checked in the same call (``PostingAuthority``): a
    /// transfer it may not post is rejected with ``LedgerError/Code/forbiddenAccount``,
    /// ``LedgerError/Code/reservedNamespace``, or as not found when it resolves a transfer of
    /// accounts it may not touch.
    ///
    /// - Throws: ``LedgerError`` with ``LedgerError/Code/batchTooLarge`` past ``maxBatchSize``, or
    ///   ``LedgerError/Code/database`` if the database cannot be reached; rejections of single
    ///   transfers are results, not errors.
    public func post(_ transfers: [NewTransfer], atomic: Bool = false, authority: PostingAuthority = .ledger) async throws(LedgerError)
        -> [TransferResult]
    {
        try await post(transfers, authorities: Array(repeating: authority, count: transfers.count), atomic: atomic)
    }

    /// Records a batch of transfers on `connection`, inside the caller's open transaction, so that
    /// the caller's own writes and the bookings commit or roll back together (an MPP session's
    /// voucher state and its charge). Not retried here: the caller owns the transaction.
    /// See ``post(_:atomic:authority:)`` for the semantics.
    /// - Throws: ``LedgerError/Code/batchTooLarge``, or ``LedgerError/Code/database`` when the
    ///   statement fails (the caller's transaction is then aborted).
    public func post(
        _ transfers: [NewTransfer], on connection: PostgresConnection, atomic: Bool = false, authority: PostingAuthority = .ledger
    ) async throws(LedgerError) -> [TransferResult] {
        try await post(transfers, authorities: Array(repeating: authority, count: transfers.count), atomic: atomic) {
            batch throws(LedgerError) -> [Row] in
            do {
                var rows: [Row] = []
                if batch.isConditional {
                    for try await row in try await connection.execute(ConditionalPostingCall(batch: batch), logger: self.logger) {
                        rows.append(Self.row(row))
                    }
                } else {
                    for try await row in try await connection.execute(PostingCall(batch: batch), logger: self.logger) {
                        rows.append(Self.row(row))
                    }
                }
                return rows
            } catch {
                throw LedgerError(.database, Self.describe(error))
            }
        }
    }

    /// Records a batch of transfers together with a guarded write (``PostingGuard``), in one
    /// statement: one round trip, one transaction, both or neither. The batch is atomic.
    /// - Returns: one result per transfer, each created or already existing.
    /// - Throws: ``LedgerError/Code/guardFailed`` when the guard's condition did not hold,
    ///   the rejection of a transfer, or ``LedgerError/Code/database`` when the statement failed;
    ///   nothing was written in any case. Not retried: the caller decides.
    ///   ``LedgerError/Code/invalidCondition`` for a transfer with conditions or a balancing one:
    ///   a guard's function takes the plain posting call's arguments only.
    public func post<Guard: PostingGuard>(
        _ transfers: [NewTransfer], guardedBy guarded: Guard, authority: PostingAuthority = .ledger
    ) async throws(LedgerError) -> [TransferResult] {
        if let conditional = transfers.first(where: \.isConditional) {
            throw LedgerError(.invalidCondition, "transfer \(conditional.id): a guarded batch takes no conditions or balancing transfers")
        }
        let results = try await post(
            transfers, authorities: Array(repeating: authority, count: transfers.count), atomic: true, evenIfEmpty: true
        ) { batch throws(LedgerError) -> [Row] in
            do {
                var rows: [Row] = []
                for try await row in try await client.execute(GuardedPostingCall(guarded: guarded, batch: batch), logger: logger) {
                    rows.append(Self.row(row))
                }
                return rows
            } catch {
                if Self.sqlState(of: error) == "SG409" { throw LedgerError(.guardFailed, Self.describe(error)) }
                throw LedgerError(.database, Self.describe(error))
            }
        }
        for case .rejected(let error) in results { throw error }
        return results
    }

    /// A batch whose transfers may come from different posters (group commit).
    func post(_ transfers: [NewTransfer], authorities: [PostingAuthority], atomic: Bool) async throws(LedgerError) -> [TransferResult] {
        try await post(transfers, authorities: authorities, atomic: atomic) { batch throws(LedgerError) in
            try await database(retries: 8) { try await self.execute(batch) }
        }
    }

    private func post(
        _ transfers: [NewTransfer], authorities: [PostingAuthority], atomic: Bool, evenIfEmpty: Bool = false,
        execute: (BatchColumns) async throws(LedgerError) -> [Row]
    ) async throws(LedgerError) -> [TransferResult] {
        guard transfers.count <= Self.maxBatchSize else {
            throw LedgerError(.batchTooLarge, "a batch takes at most \(Self.maxBatchSize) transfers, got \(transfers.count)")
        }
        var results = [TransferResult?](repeating: nil, count: transfers.count)
        var sent: [Int] = []
        sent.reserveCapacity(transfers.count)
        for (k, transfer) in transfers.enumerated() {
            do {
                try transfer.validate()
                sent.append(k)
            } catch {
                results[k] = .rejected(error)
            }
        }
        if atomic, sent.count < transfers.count {
            for k in sent { results[k] = .rejected(.rejection(.atomicBatchFailed)) }
            return results.map { $0! }
        }
        if !sent.isEmpty || evenIfEmpty {
            let batch = BatchColumns(sent.map { transfers[$0] }, atomic: atomic, authorities: sent.map { authorities[$0] })
            let rows: [Row]
            do {
                rows = try await execute(batch)
            } catch let error where error.message.hasPrefix("PostgreSQL 22003") {
                // A balance without a limit would pass 2^256-1 after a concurrent batch moved it:
                // the database refused the whole batch, nothing was written.
                throw LedgerError(.overflow, "a balance would exceed 2^256-1; nothing of the batch was written")
            }
            for row in rows { results[sent[row.index]] = row.result }
        }
        return results.map { $0 ?? .rejected(LedgerError(.database, "the database returned no result for this transfer")) }
    }

    /// Records one transfer. See ``post(_:atomic:authority:)``.
    public func post(_ transfer: NewTransfer, authority: PostingAuthority = .ledger) async throws(LedgerError) -> TransferResult {
        try await post([transfer], authority: authority)[0]
    }

    /// Voids every hold whose timeout has passed (at most `limit` per call).
    /// - Returns: how many holds this call expired.
    public func expireHolds(limit: Int = 10_000) async throws(LedgerError) -> Int {
        try await database(retries: 8) {
            let rows = try await client.query("select settle.expire_holds(\(Int32(clamping: limit)))", logger: logger)
            for try await count in rows.decode(Int32.self) { return Int(count) }
            return 0
        }
    }

    struct Row {
        var index: Int
        var result: TransferResult
    }

    private func execute(_ b: BatchColumns) async throws -> [Row] {
        var rows: [Row] = []
        rows.reserveCapacity(b.ids.count)
        if b.isConditional {
            for try await row in try await client.execute(ConditionalPostingCall(batch: b), logger: logger) {
                rows.append(Self.row(row))
            }
        } else {
            for try await row in try await client.execute(PostingCall(batch: b), logger: logger) {
                rows.append(Self.row(row))
            }
        }
        return rows
    }

    /// A row of the conditional posting function, with the amount a balancing transfer moved.
    static func row(_ row: ConditionalPostingCall.Row) -> Row {
        let (idx, status, code, seq, recordedAt, amount) = row
        return Self.row((idx, status, code, seq, recordedAt), amount: amount.flatMap { UInt256(decimal: $0) })
    }

    /// A row of the posting function as the result of the batch's transfer at `index`.
    static func row(_ row: PostingCall.Row, amount: UInt256? = nil) -> Row {
        let (idx, status, code, seq, recordedAt) = row
        let result: TransferResult
        switch status {
        case 0: result = .created(.init(sequence: seq ?? 0, recordedAt: recordedAt ?? Date(), amount: amount))
        case 1: result = .exists(.init(sequence: seq ?? 0, recordedAt: recordedAt ?? Date(), amount: amount))
        default: result = .rejected(.rejection(LedgerError.Code(code ?? "rejected")))
        }
        return Row(index: Int(idx) - 1, result: result)
    }
}

/// A batch in the column layout `settle.post_transfers` takes (see v2_post_transfers.sql for the
/// sentinels that stand for absent values).
struct BatchColumns: Sendable {
    var ids: [String] = []
    var kinds: [Int16] = []
    var parents: [String] = []
    var amounts: [String] = []
    var timeouts: [Int64] = []
    var effective: [Date] = []
    var effectiveSet: [Bool] = []
    var metadata: [String] = []
    var rails: [String] = []
    var railRefs: [String] = []
    var hashes: [String] = []
    var postingTransfer: [Int32] = []
    var postingAccount: [String] = []
    var postingDebit: [Bool] = []
    var postingAmount: [String] = []
    var atomic: Bool
    /// Per transfer: the poster's account prefix ('' = every account) and whether it is kept out
    /// of the rails' namespace.
    var prefixes: [String] = []
    var apiKeys: [Bool] = []
    /// Conditional and balancing transfers (``ConditionalPostingCall``): per transfer whether it
    /// is a balancing one (its two postings carry the upper bound and placeholder directions),
    /// and the conditions as rows (-1: no version, '': no available amount or bound).
    var balancing: [Bool] = []
    var conditionTransfer: [Int32] = []
    var conditionAccount: [String] = []
    var conditionVersion: [Int64] = []
    var conditionAvailable: [String] = []
    var conditionAvailableMin: [String] = []
    var conditionAvailableMax: [String] = []
    var isConditional = false

    init(_ transfers: [NewTransfer], atomic: Bool, authorities: [PostingAuthority]? = nil) {
        self.atomic = atomic
        prefixes = authorities?.map { $0.accountPrefix ?? "" } ?? Array(repeating: "", count: transfers.count)
        apiKeys = authorities?.map(\.excludedFromRailNamespace) ?? Array(repeating: false, count: transfers.count)
        let n = transfers.count
        for array in [\BatchColumns.ids, \.parents, \.amounts, \.metadata, \.rails, \.railRefs, \.hashes]
            as [WritableKeyPath<BatchColumns, [String]>]
        {
            self[keyPath: array].reserveCapacity(n)
        }
        postingTransfer.reserveCapacity(2 * n)
        postingAccount.reserveCapacity(2 * n)
        postingDebit.reserveCapacity(2 * n)
        postingAmount.reserveCapacity(2 * n)
        let epoch = Date(timeIntervalSince1970: 0)
        for (k, t) in transfers.enumerated() {
            ids.append(t.id.rawValue)
            kinds.append(t.kind.rawValue)
            parents.append(t.parentID?.rawValue ?? "")
            if case .postHold(_, let amount?) = t.action { amounts.append(amount.decimalString) } else { amounts.append("-1") }
            timeouts.append(t.holdTimeout ?? 0)
            effective.append(t.effectiveAt ?? epoch)
            effectiveSet.append(t.effectiveAt != nil)
            metadata.append(t.metadata.isEmpty ? "" : t.metadata.canonicalJSON)
            rails.append(t.railReference?.rail ?? "")
            railRefs.append(t.railReference?.reference ?? "")
            hashes.append(t.requestHash)
            for p in t.postings {
                postingTransfer.append(Int32(k + 1))
                postingAccount.append(p.account.rawValue)
                postingDebit.append(p.direction == .debit)
                postingAmount.append(p.amount.decimalString)
            }
            if case let (from, to, upTo)? = t.balancingAccounts {
                let bound = (upTo ?? .max).decimalString
                for (account, debit) in [(from, true), (to, false)] {
                    postingTransfer.append(Int32(k + 1))
                    postingAccount.append(account.rawValue)
                    postingDebit.append(debit)
                    postingAmount.append(bound)
                }
                balancing.append(true)
            } else {
                balancing.append(false)
            }
            for c in t.conditions {
                conditionTransfer.append(Int32(k + 1))
                conditionAccount.append(c.account.rawValue)
                conditionVersion.append(c.version ?? -1)
                conditionAvailable.append(c.available?.description ?? "")
                conditionAvailableMin.append(c.availableAtLeast?.description ?? "")
                conditionAvailableMax.append(c.availableAtMost?.description ?? "")
            }
            isConditional = isConditional || t.isConditional
        }
    }
}
