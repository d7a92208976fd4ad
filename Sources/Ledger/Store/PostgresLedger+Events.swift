import Foundation
import PostgresNIO

extension PostgresLedger {
    /// Gives the events that committed their positions (decision 0039) and returns the last
    /// position given, 0 before the first event. Readers call it before reading; it is cheap when
    /// nothing is waiting, and one sequencer runs at a time.
    @discardableResult
    public func sequenceEvents(limit: Int = 50_000) async throws(LedgerError) -> Int64 {
        try await database {
            let rows = try await client.query("select settle.sequence_events(\(Int32(clamping: limit)))", logger: logger)
            for try await head in rows.decode(Int64.self) { return head }
            return 0
        }
    }

    /// Up to `limit` events after position `after`, in order, sequencing what committed first.
    ///
    /// - Parameters:
    ///   - accountPrefix: only events touching an account whose id starts with it ("" = all),
    ///     decided in the database, so that the others are not read.
    ///   - types: only events of these types (empty = all), decided before anything but the
    ///     outbox rows and, for a subset of the transfer types, the transfers' kinds are read.
    ///   - scan: how many positions one call may look at (default `limit`, at most 10,000): a reader
    ///     with a narrow filter moves through a busy ledger in large steps; ``EventPage/next`` says
    ///     how far it looked.
    /// - Throws: ``LedgerError/Code/invalidCursor`` when `after` is negative,
    ///   ``LedgerError/Code/unknownCursor`` when it is beyond the last event (a cursor this ledger
    ///   never gave).
    public func events(
        after: Int64, limit: Int = 100, accountPrefix: String = "", types: Set<LedgerEvent.Kind> = [], scan: Int? = nil
    ) async throws(LedgerError) -> EventPage {
        guard after >= 0 else { throw LedgerError(.invalidCursor, "an event cursor is a position, 0 or more; got \(after)") }
        let limit = max(1, min(limit, 1_000))
        let window = min(max(scan ?? limit, limit), 10_000)
        let head = try await sequenceEvents()
        guard after <= head else {
            throw LedgerError(.unknownCursor, "cursor \(after) is beyond the last event, \(head): it was not given by this ledger")
        }
        guard after < head else { return EventPage(events: [], next: after, head: head) }

        struct Row { var kind: Int16, refs: [Int64], payload: String?, recordedAt: Date, first: Int64 }
        let (rows, horizon): ([Row], Int64) = try await database {
            // Only the rows that overlap positions after+1 ... after+limit, and of each only the refs
            // in that window: a statement of thousands of transfers is one row, read a page at a time.
            // Positions are dense and rows disjoint, so those rows are the ones ending inside the
            // window and the first one ending after it, each found through the position index.
            // The horizon is read by the same statement, in the same snapshot as the rows: a prune
            // that commits meanwhile cannot hand this page a gap.
            let end = min(after + Int64(window), head)
            let query: PostgresQuery = """
                select h.pruned_through, w.kind,
                       w.refs[(greatest(\(after) + 1, w.first) - w.first + 1):(least(\(end), w.last_position) - w.first + 1)],
                       w.payload::text, w.recorded_at, greatest(\(after) + 1, w.first)
                  from settle.outbox_horizon h
                  left join (select o.*, o.last_position - o.count + 1 as first
                               from settle.outbox o
                              where o.last_position > \(after) and o.last_position <= \(end)
                             union all
                             (select o.*, o.last_position - o.count + 1 as first
                                from settle.outbox o
                               where o.last_position > \(end)
                               order by o.last_position
                               limit 1)) w on true
                 order by w.last_position
                """
            var rows: [Row] = []
            var horizon: Int64 = 0
            for try await (pruned, kind, refs, payload, recorded, first) in try await client.query(query, logger: logger).decode(
                (Int64, Int16?, [Int64]?, String?, Date?, Int64?).self)
            {
                horizon = pruned
                guard let kind, let refs, let recorded, let first else { continue }
                rows.append(Row(kind: kind, refs: refs, payload: payload, recordedAt: recorded, first: first))
            }
            return (rows, horizon)
        }
        guard after >= horizon else { throw Self.expired(after, horizon: horizon) }

        // The (position, row, ref) of each event looked at.
        let end = min(after + Int64(window), head)
        var wanted: [(position: Int64, row: Int, ref: Int64)] = []
        for (r, row) in rows.enumerated() {
            for (i, ref) in row.refs.enumerated() where (after + 1...end).contains(row.first + Int64(i)) {
                wanted.append((row.first + Int64(i), r, ref))
            }
        }
        // Types: whole outbox rows first (account, monitor and transfer rows), then the transfers'
        // own kinds when only some of theirs are asked for.
        let transferTypes = types.intersection(LedgerEvent.transferKinds)
        if !types.isEmpty {
            wanted = wanted.filter { item in
                switch rows[item.row].kind {
                case 0: !transferTypes.isEmpty
                case 1: types.contains(.accountCreated)
                case 2: types.contains(.accountClosed)
                default: types.contains(.balanceMonitorFired)
                }
            }
        }
        var firingDetails: [Int64: MonitorPayload] = [:]
        for item in wanted where rows[item.row].kind == 3 {
            firingDetails[item.position] = try MonitorPayload(text: rows[item.row].payload)
        }
        var accounts = try await accounts(
            nums: wanted.filter { rows[$0.row].kind == 1 || rows[$0.row].kind == 2 }.map(\.ref)
                + firingDetails.values.map(\.accountNum))
        if !accountPrefix.isEmpty {
            let touching = try await transfersTouching(
                prefix: accountPrefix, seqs: wanted.filter { rows[$0.row].kind == 0 }.map(\.ref))
            accounts = accounts.filter { $0.value.id.rawValue.hasPrefix(accountPrefix) }
            wanted = wanted.filter { item in
                switch rows[item.row].kind {
                case 0: touching.contains(item.ref)
                case 1, 2: accounts[item.ref] != nil
                default: firingDetails[item.position].map { accounts[$0.accountNum] != nil } ?? false
                }
            }
        }
        if !transferTypes.isEmpty, transferTypes != LedgerEvent.transferKinds {
            let kinds = try await transferEventKinds(seqs: wanted.filter { rows[$0.row].kind == 0 }.map(\.ref))
            wanted = wanted.filter { item in
                rows[item.row].kind != 0 || kinds[item.ref].map(transferTypes.contains) == true
            }
        }
        // Capped at `limit`: the page then ends at its last event, else at the last position looked at.
        var next = end
        if wanted.count > limit {
            wanted = Array(wanted.prefix(limit))
            next = wanted[wanted.count - 1].position
        }
        let transfers = try await transfers(seqs: wanted.filter { rows[$0.row].kind == 0 }.map(\.ref))
        let firingTransfers = try await transferIDs(seqs: wanted.filter { rows[$0.row].kind == 3 }.map(\.ref))

        var events: [LedgerEvent] = []
        events.reserveCapacity(wanted.count)
        for item in wanted {
            let row = rows[item.row]
            switch row.kind {
            case 0:
                guard let transfer = transfers[item.ref] else {
                    throw LedgerError(.database, "event \(item.position): transfer seq \(item.ref) is missing")
                }
                events.append(
                    LedgerEvent(
                        position: item.position, kind: LedgerEvent.kind(of: transfer), recordedAt: row.recordedAt,
                        subject: .transfer(transfer)))
            case 1, 2:
                guard let account = accounts[item.ref] else {
                    throw LedgerError(.database, "event \(item.position): account num \(item.ref) is missing")
                }
                events.append(
                    LedgerEvent(
                        position: item.position, kind: row.kind == 1 ? .accountCreated : .accountClosed,
                        recordedAt: row.recordedAt, subject: .account(account)))
            default:
                guard let detail = firingDetails[item.position], let account = accounts[detail.accountNum],
                    let transfer = firingTransfers[item.ref]
                else {
                    throw LedgerError(.database, "event \(item.position): the monitor's account or transfer is missing")
                }
                let firing = BalanceMonitor.Firing(
                    monitor: detail.monitor, account: account.id, measure: detail.measure, operator: detail.operator,
                    threshold: detail.threshold, value: detail.value, accountVersion: detail.accountVersion, transfer: transfer)
                events.append(
                    LedgerEvent(position: item.position, kind: .balanceMonitorFired, recordedAt: row.recordedAt, subject: .monitor(firing)))
            }
        }
        return EventPage(events: events, next: next, head: head)
    }

    /// Deletes the events recorded before `before` from the outbox (decision 0042), oldest first, in
    /// rounds of `batch` rows, never past a webhook endpoint's acknowledged position. The transfers
    /// and accounts they announced stay; a cursor in the pruned range then gets
    /// ``LedgerError/Code/cursorExpired``.
    public func pruneEvents(recordedBefore before: Date, batch: Int = 10_000) async throws(LedgerError) -> EventPruning {
        let batch = Int32(clamping: max(1, batch))
        var result = EventPruning(prunedThrough: 0, rowsDeleted: 0, heldBy: nil)
        while true {
            let round: (Int64, Int64, String?) = try await database {
                let rows = try await client.query(
                    "select pruned_through, rows_deleted, held_by from settle.prune_events(\(before), \(batch))", logger: logger)
                for try await row in rows.decode((Int64, Int64, String?).self) { return row }
                throw LedgerError(.database, "settle.prune_events returned no row")
            }
            result.prunedThrough = round.0
            result.rowsDeleted += Int(round.1)
            result.heldBy = round.2
            // A stopping worker keeps what it pruned; the next run goes on from the horizon.
            if round.1 < Int64(batch) || Task.isCancelled { return result }
        }
    }

    /// The last pruned position: cursors below it have expired.
    func eventHorizon() async throws(LedgerError) -> Int64 {
        try await database {
            let rows = try await client.query("select pruned_through from settle.outbox_horizon", logger: logger)
            for try await horizon in rows.decode(Int64.self) { return horizon }
            return 0
        }
    }

    static func expired(_ cursor: Int64, horizon: Int64) -> LedgerError {
        LedgerError(
            .cursorExpired,
            "the events up to position \(horizon) were pruned (past their retention) and cursor \(cursor) falls among them: start again from \(horizon) after re-reading the state you track"
        )
    }

    /// Transfers by sequence number with their lines, as recorded (no hold state).
    private func transfers(seqs: [Int64]) async throws(LedgerError) -> [Int64: Transfer] {
        guard !seqs.isEmpty else { return [:] }
        return try await database {
            var found: [Int64: Transfer] = [:]
            let head: PostgresQuery = """
                select t.seq, t.id, t.kind, p.id, t.effective_at, t.recorded_at, t.expires_at, coalesce(t.metadata::text, '{}'),
                       t.rail, t.rail_ref
                  from settle.transfers t left join settle.transfers p on p.seq = t.parent_seq
                 where t.seq = any(\(seqs))
                """
            for try await (seq, id, kind, parent, eff, rec, exp, meta, rail, ref) in try await client.query(head, logger: logger)
                .decode((Int64, String, Int16, String?, Date, Date, Date?, String, String?, String?).self)
            {
                found[seq] = Transfer(
                    id: TransferID(internal: id), sequence: seq, kind: Transfer.Kind(rawValue: kind) ?? .posted,
                    parent: parent.map { TransferID(internal: $0) }, lines: [], effectiveAt: eff, recordedAt: rec, expiresAt: exp,
                    metadata: Metadata(jsonText: meta), railReference: rail.flatMap { r in ref.map { .init(rail: r, reference: $0) } },
                    holdState: nil)
            }
            let lines: PostgresQuery = """
                select e.transfer_seq, a.id, e.is_debit, e.is_pending, e.amount::text
                  from settle.entries e join settle.accounts a on a.num = e.account_num
                 where e.transfer_seq = any(\(seqs))
                 order by e.transfer_seq, e.is_pending desc, e.account_version, a.id
                """
            for try await (seq, account, debit, pending, amount) in try await client.query(lines, logger: logger).decode(
                (Int64, String, Bool, Bool, String).self)
            {
                found[seq]?.lines.append(
                    .init(
                        account: AccountID(internal: account), direction: debit ? .debit : .credit, pending: pending,
                        amount: try Self.signed(amount)))
            }
            return found
        }
    }

    /// The event type of each transfer, from its row alone (no lines).
    private func transferEventKinds(seqs: [Int64]) async throws(LedgerError) -> [Int64: LedgerEvent.Kind] {
        guard !seqs.isEmpty else { return [:] }
        return try await database {
            var found: [Int64: LedgerEvent.Kind] = [:]
            let rows = try await client.query(
                "select seq, kind, rail is not null and rail_ref is not null from settle.transfers where seq = any(\(seqs))", logger: logger
            )
            for try await (seq, kind, fromRail) in rows.decode((Int64, Int16, Bool).self) {
                found[seq] = LedgerEvent.kind(of: Transfer.Kind(rawValue: kind) ?? .posted, fromRail: fromRail)
            }
            return found
        }
    }

    /// Of `seqs`, the transfers with an entry on an account whose id starts with `prefix`.
    private func transfersTouching(prefix: String, seqs: [Int64]) async throws(LedgerError) -> Set<Int64> {
        guard !seqs.isEmpty else { return [] }
        return try await database {
            var found: Set<Int64> = []
            let rows = try await client.query(
                """
                select distinct e.transfer_seq
                  from settle.entries e join settle.accounts a on a.num = e.account_num
                 where e.transfer_seq = any(\(seqs)) and starts_with(a.id, \(prefix))
                """, logger: logger)
            for try await seq in rows.decode(Int64.self) { found.insert(seq) }
            return found
        }
    }

    private func transferIDs(seqs: [Int64]) async throws(LedgerError) -> [Int64: TransferID] {
        guard !seqs.isEmpty else { return [:] }
        return try await database {
            var found: [Int64: TransferID] = [:]
            let rows = try await client.query("select seq, id from settle.transfers where seq = any(\(seqs))", logger: logger)
            for try await (seq, id) in rows.decode((Int64, String).self) { found[seq] = TransferID(internal: id) }
            return found
        }
    }

    private func accounts(nums: [Int64]) async throws(LedgerError) -> [Int64: Account] {
        guard !nums.isEmpty else { return [:] }
        return try await database {
            var found: [Int64: Account] = [:]
            let rows = try await client.query(
                """
                select num, id, asset_id, code, normal::text, flags, external_id, metadata::text, closed, created_at
                  from settle.accounts where num = any(\(nums))
                """, logger: logger)
            for try await (num, id, asset, code, normal, flags, ext, meta, closed, created) in rows.decode(
                (Int64, String, String, String, String, Int16, String?, String, Bool, Date).self)
            {
                found[num] = Account(
                    id: AccountID(internal: id), asset: AssetID(internal: asset), code: code,
                    normalSide: normal == "D" ? .debit : .credit, limit: .init(flags: flags), externalID: ext,
                    metadata: Metadata(jsonText: meta), closed: closed, createdAt: created)
            }
            return found
        }
    }
}

/// The payload the monitor trigger writes (v24 `settle.outbox_monitors`).
private struct MonitorPayload: Decodable {
    var monitor: String
    var accountNum: Int64
    var accountVersion: Int64
    var measure: BalanceMonitor.Measure
    var `operator`: BalanceMonitor.Operator
    var threshold: SignedAmount
    var value: SignedAmount

    enum CodingKeys: String, CodingKey {
        case monitor, threshold, value, `operator`
        case accountNum = "account_num"
        case accountVersion = "account_version"
        case measure = "balance"
    }

    init(text: String?) throws(LedgerError) {
        do {
            self = try JSONDecoder().decode(Self.self, from: Data((text ?? "").utf8))
        } catch {
            throw LedgerError(.database, "a balance monitor event's payload is unreadable: \(error)")
        }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        monitor = try c.decode(String.self, forKey: .monitor)
        accountNum = try c.decode(Int64.self, forKey: .accountNum)
        accountVersion = try c.decode(Int64.self, forKey: .accountVersion)
        guard let measure = BalanceMonitor.Measure(rawValue: try c.decode(String.self, forKey: .measure)),
            let op = BalanceMonitor.Operator(rawValue: try c.decode(String.self, forKey: .operator)),
            let threshold = SignedAmount(decimal: try c.decode(String.self, forKey: .threshold)),
            let value = SignedAmount(decimal: try c.decode(String.self, forKey: .value))
        else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "unknown measure, operator or amount")) }
        self.measure = measure
        self.operator = op
        self.threshold = threshold
        self.value = value
    }
}
