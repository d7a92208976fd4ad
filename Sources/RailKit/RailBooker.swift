import Foundation
import Ledger
import Logging
import Metrics
import PostgresNIO
import Synchronization

/// Writes rail events to the ledger: the one place where every rail's events become transfers,
/// with the same idempotency, ordering and batching rules for all of them.
///
/// - Every event becomes at most one transfer whose id and rail reference derive from
///   `(transition, reference)`, so booking it again answers `exists` and writes nothing.
/// - Accounts the fund flow names are created on first use, as its roles declare them.
/// - An event that resolves a hold not booked yet is reported ``Outcome/outOfOrder``: a pull keeps
///   its cursor and a webhook is refused with a retryable status, so it is taken again later.
/// - An event the ledger refuses (``Outcome/rejected``, e.g. its id is taken by a transfer with
///   other fields) is an alert: logged as an error and counted in
///   `settle_rail_bookings_refused_total`; a pull keeps its cursor before it and a webhook is
///   refused with a retryable status, so it is retried until someone fixes the cause. It is never
///   skipped silently.
/// - Pulls store their cursor only after the page's transfers are committed; webhooks are recorded
///   in an inbox after theirs, so a replay is recognised before any work.
/// - Installing a rail registers its id: its transfer ids `<rail>:…` and rail references are then
///   reserved for its bookings, and API keys cannot write them (decision 0012).
public final class RailBooker: Sendable {
    /// What booking one event did.
    public enum Outcome: Sendable, Hashable {
        case created
        case exists
        /// Every amount of the event was zero: nothing to book.
        case nothingToBook
        /// The event resolves a hold that is not booked yet; take it again later.
        case outOfOrder(LedgerError)
        /// The ledger refused the event; it stays to be retried (an alert, see ``RailBooker``).
        case rejected(LedgerError)

        public var isBooked: Bool {
            switch self {
            case .created, .exists, .nothingToBook: true
            case .outOfOrder, .rejected: false
            }
        }
    }

    /// What one ``sync(_:pageSize:maxPages:)`` did.
    public struct SyncReport: Sendable, Hashable, CustomStringConvertible {
        public var pages = 0
        public var events = 0
        public var created = 0
        public var exists = 0
        /// Refused events of the page the pass stopped at, by `transition:reference`.
        public var rejected: [String: LedgerError] = [:]
        /// Set when the pass stopped at an event whose hold is not booked yet.
        public var outOfOrder: String?
        public var cursor: String?

        public var description: String {
            "\(events) events in \(pages) pages: \(created) booked, \(exists) already booked, \(rejected.count) rejected"
                + (outOfOrder.map { ", stopped at out-of-order \($0)" } ?? "")
        }
    }

    public let ledger: PostgresLedger
    private let knownAccounts = Mutex(Set<AccountID>())

    public init(ledger: PostgresLedger) {
        self.ledger = ledger
    }

    /// Registers the rail (reserving its namespace) and creates its assets and the fixed accounts
    /// of its fund flow for each of them.
    public func install(_ descriptor: RailDescriptor) async throws(RailError) {
        try descriptor.validate()
        _ = try await ledgerCall {
            try await ledger.client.query(
                "insert into settle.rails (id) values (\(descriptor.id)) on conflict do nothing", logger: ledger.logger)
        }
        let assets = try await ledgerCall { try await ledger.createAssets(descriptor.assets) }
        for (asset, result) in zip(descriptor.assets, assets) {
            if case .rejected(let error) = result, error.code != .existsWithDifferentFields {
                throw RailError(.ledger, "rail \(descriptor.id): asset \(asset.id): \(error)")
            }
        }
        var accounts: [Account] = []
        for asset in descriptor.assets { accounts += try descriptor.fundFlow.fixedAccounts(for: asset.id) }
        try await ensure(accounts)
    }

    /// Books `events` of the rail described by `descriptor`, in one ledger call; one outcome each.
    public func book(_ events: [RailEvent], on descriptor: RailDescriptor) async throws(RailError) -> [Outcome] {
        var transfers: [NewTransfer] = []
        var slots: [Int?] = []
        var accounts: [Account] = []
        for event in events {
            accounts += try descriptor.fundFlow.accounts(for: event)
            if let transfer = try descriptor.fundFlow.transfer(for: event, rail: descriptor.id) {
                slots.append(transfers.count)
                transfers.append(transfer)
            } else {
                slots.append(nil)
            }
        }
        try await ensure(accounts)
        // The ledger resolves a hold only from an earlier call: a page holding both a hold and its
        // post (seen, then final) takes a second call for the post. Repeat while calls make progress.
        var results = [TransferResult?](repeating: nil, count: transfers.count)
        var waiting = Array(transfers.indices)
        while !waiting.isEmpty {
            var stillWaiting: [Int] = []
            for start in stride(from: 0, to: waiting.count, by: PostgresLedger.maxBatchSize) {
                let indices = Array(waiting[start..<min(start + PostgresLedger.maxBatchSize, waiting.count)])
                let chunk = indices.map { transfers[$0] }
                let answers = try await ledgerCall { try await ledger.post(chunk) }
                for (index, answer) in zip(indices, answers) {
                    results[index] = answer
                    if case .rejected(let error) = answer, error.code == .pendingTransferNotFound { stillWaiting.append(index) }
                }
            }
            if stillWaiting.count == waiting.count { break }
            waiting = stillWaiting
        }
        let outcomes = slots.map { slot -> Outcome in
            guard let slot, let result = results[slot] else { return .nothingToBook }
            switch result {
            case .created: return .created
            case .exists: return .exists
            case .rejected(let error) where error.code == .pendingTransferNotFound: return .outOfOrder(error)
            case .rejected(let error): return .rejected(error)
            }
        }
        for (event, outcome) in zip(events, outcomes) {
            guard case .rejected(let error) = outcome else { continue }
            ledger.logger.error(
                "rail event refused by the ledger; it is retried, not skipped",
                metadata: [
                    "rail": "\(descriptor.id)", "transition": "\(event.transition)", "reference": "\(event.reference)", "error": "\(error)",
                ])
            Counter(label: "settle_rail_bookings_refused_total", dimensions: [("rail", descriptor.id), ("code", error.code.rawValue)])
                .increment()
        }
        return outcomes
    }

    /// Takes a verified webhook delivery: books its events once, however often it is delivered.
    /// - Returns: false when the delivery was already taken (nothing was done).
    /// - Throws: ``RailError/Code/outOfOrder`` when an event resolves a hold not booked yet (the
    ///   delivery is not recorded, so its redelivery books it).
    public func take(_ delivery: RailDelivery, on descriptor: RailDescriptor) async throws(RailError) -> Bool {
        let rail = descriptor.id
        let seen = try await ledgerCall {
            let rows = try await ledger.client.query(
                "select 1 from settle.rail_inbox where rail = \(rail) and event_id = \(delivery.id)", logger: ledger.logger)
            for try await _ in rows { return true }
            return false
        }
        if seen { return false }
        let outcomes = try await book(delivery.events, on: descriptor)
        for case .outOfOrder(let error) in outcomes {
            throw RailError(.outOfOrder, "delivery \(delivery.id): \(error.message)")
        }
        for case .rejected(let error) in outcomes {
            throw RailError(.rejected, "delivery \(delivery.id): \(error)")
        }
        let count = outcomes.count { if case .created = $0 { true } else { false } }
        _ = try await ledgerCall {
            try await ledger.client.query(
                """
                insert into settle.rail_inbox (rail, event_id, transfers) values (\(rail), \(delivery.id), \(count))
                on conflict do nothing
                """, logger: ledger.logger)
        }
        return true
    }

    /// Pulls the rail's events from its stored cursor and books them, page by page, storing the
    /// cursor after each page is committed; stops when the rail has no more, after `maxPages`, at
    /// an event whose hold is not booked yet, or at a page with an event the ledger refused (its
    /// cursor stays before that page, so the next pass retries it).
    public func sync(_ rail: any Rail, pageSize: Int = 500, maxPages: Int = .max) async throws(RailError) -> SyncReport {
        let descriptor = rail.descriptor
        var report = SyncReport()
        report.cursor = try await cursor(of: descriptor.id)
        while report.pages < maxPages {
            let page = try await rail.fetchNext(cursor: report.cursor, pageSize: pageSize)
            report.pages += 1
            let outcomes = try await book(page.events, on: descriptor)
            report.events += page.events.count
            for (event, outcome) in zip(page.events, outcomes) {
                switch outcome {
                case .created: report.created += 1
                case .exists, .nothingToBook: report.exists += 1
                case .rejected(let error): report.rejected["\(event.transition):\(event.reference)"] = error
                case .outOfOrder: report.outOfOrder = report.outOfOrder ?? "\(event.transition):\(event.reference)"
                }
            }
            if report.outOfOrder != nil || !report.rejected.isEmpty { break }
            if let next = page.nextCursor, next != report.cursor {
                try await store(cursor: next, of: descriptor.id)
                report.cursor = next
            }
            if !page.hasMore { break }
        }
        return report
    }

    /// The stored cursor of rail `rail` (nil before its first page).
    public func cursor(of rail: String) async throws(RailError) -> String? {
        try await ledgerCall {
            let rows = try await ledger.client.query("select cursor from settle.rail_cursors where rail = \(rail)", logger: ledger.logger)
            for try await (cursor) in rows.decode(String.self) { return cursor }
            return nil
        }
    }

    private func store(cursor: String, of rail: String) async throws(RailError) {
        _ = try await ledgerCall {
            try await ledger.client.query(
                """
                insert into settle.rail_cursors (rail, cursor) values (\(rail), \(cursor))
                on conflict (rail) do update set cursor = excluded.cursor, updated_at = now()
                """, logger: ledger.logger)
        }
    }

    private func ensure(_ accounts: [Account]) async throws(RailError) {
        var seen = Set<AccountID>()
        let missing = knownAccounts.withLock { known in accounts.filter { !known.contains($0.id) && seen.insert($0.id).inserted } }
        guard !missing.isEmpty else { return }
        let results = try await ledgerCall { try await ledger.createAccounts(missing) }
        for (account, result) in zip(missing, results) {
            if case .rejected(let error) = result, error.code != .existsWithDifferentFields {
                throw RailError(.ledger, "account \(account.id): \(error)")
            }
        }
        knownAccounts.withLock { $0.formUnion(missing.map(\.id)) }
    }

    private func ledgerCall<T>(_ body: () async throws -> T) async throws(RailError) -> T {
        do {
            return try await body()
        } catch let error as RailError {
            throw error
        } catch {
            throw RailError(.ledger, "\(error)")
        }
    }
}
