import Foundation

/// Something that happened in the ledger, as the outbox recorded it in the transaction that made it
/// happen (decision 0039).
///
/// Events are numbered by ``position``: dense (1, 2, 3, …), in commit order, and never given before
/// a lower one, so a consumer that remembers the last position it handled and reads "after" it
/// misses nothing and sees each account's events in the order they were recorded. Delivery is at
/// least once: consumers de-duplicate by ``id``.
public struct LedgerEvent: Sendable, Hashable {
    /// What happened. The raw values are the public event types.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A posted transfer or a new hold (`status` tells which), from the API or the command line.
        case transferCreated = "transfer.created"
        /// A transfer a rail reported (it carries the rail and its reference), posted or held.
        case railEventBooked = "rail_event.booked"
        case transferPosted = "transfer.posted"
        case transferVoided = "transfer.voided"
        case transferExpired = "transfer.expired"
        case transferReversed = "transfer.reversed"
        case accountCreated = "account.created"
        case accountClosed = "account.closed"
        case balanceMonitorFired = "balance_monitor.fired"
    }

    /// What the event is about.
    public enum Subject: Sendable, Hashable {
        /// The transfer as recorded (``Transfer/holdState`` is nil: the event is not its later state).
        case transfer(Transfer)
        case account(Account)
        case monitor(BalanceMonitor.Firing)
    }

    public var position: Int64
    public var kind: Kind
    public var recordedAt: Date
    public var subject: Subject

    /// The stable id consumers de-duplicate by.
    public var id: String { "evt_\(position)" }

    public init(position: Int64, kind: Kind, recordedAt: Date, subject: Subject) {
        self.position = position
        self.kind = kind
        self.recordedAt = recordedAt
        self.subject = subject
    }

    /// The accounts the event touches, for filters and API keys limited to an account prefix.
    public var accounts: [AccountID] {
        switch subject {
        case .transfer(let transfer): transfer.lines.map(\.account)
        case .account(let account): [account.id]
        case .monitor(let firing): [firing.account]
        }
    }

    static func kind(of transfer: Transfer) -> Kind {
        kind(of: transfer.kind, fromRail: transfer.railReference != nil)
    }

    static func kind(of transferKind: Transfer.Kind, fromRail: Bool) -> Kind {
        switch transferKind {
        case .posted, .pending: fromRail ? .railEventBooked : .transferCreated
        case .postPending: .transferPosted
        case .voidPending: .transferVoided
        case .expiry: .transferExpired
        case .reversal: .transferReversed
        }
    }

    /// The kinds a transfer's event can be.
    static let transferKinds: Set<Kind> = [
        .transferCreated, .railEventBooked, .transferPosted, .transferVoided, .transferExpired, .transferReversed,
    ]
}

/// A run of events read after a cursor.
public struct EventPage: Sendable, Hashable {
    public var events: [LedgerEvent]
    /// The position to read after next time: the last event returned, or the last position examined
    /// when the reader filtered events out.
    public var next: Int64
    /// The last position given when the page was read; `next == head` means the reader caught up.
    public var head: Int64
}

/// What ``PostgresLedger/pruneEvents(recordedBefore:batch:)`` did.
public struct EventPruning: Sendable, Hashable {
    /// The last pruned position: cursors below it have expired.
    public var prunedThrough: Int64
    public var rowsDeleted: Int
    /// The webhook endpoint whose unacknowledged events stopped the pruning short, if one did.
    public var heldBy: String?
}
