import Foundation

/// The contract every rail implements, in process (a module under `Plugins/`) or out of process
/// (``ProcessRail``, speaking the JSON-lines protocol of `docs/rails.md`).
///
/// Modelled on Formance's connectors: paged pulls with an opaque cursor, webhook verification and
/// translation, and the rail's own statements for reconciliation. A rail only reads its rail and
/// translates; ``RailBooker`` writes to the ledger, so that every rail gets the same idempotency,
/// ordering and batching rules.
public protocol Rail: Sendable {
    var descriptor: RailDescriptor { get }

    /// The next page of events after `cursor` (nil: from the beginning). Pure with respect to the
    /// cursor: the same cursor gives the same events again, which is what makes a crash between
    /// booking and storing the cursor harmless.
    func fetchNext(cursor: String?, pageSize: Int) async throws(RailError) -> RailPage

    /// Verifies a pushed event's signature on its raw bytes and translates it.
    /// - Throws: ``RailError/Code/invalidSignature`` or ``RailError/Code/staleTimestamp``, and nothing
    ///   is booked.
    func verifyWebhook(headers: [String: String], body: [UInt8]) async throws(RailError) -> RailDelivery

    /// The rail's own records of money that moved in `[from, to)`, for reconciliation.
    func statement(from: Date, to: Date, cursor: String?, pageSize: Int) async throws(RailError) -> StatementPage

    /// The rail's own balance of each of its assets as of `at`, for the reconciler's drift check.
    /// - Throws: ``RailError/Code/unsupported`` when the rail exposes no balance (the default).
    func balances(at: Date) async throws(RailError) -> [RailBalance]

    /// Releases what the rail holds (connections, a child process).
    func shutdown() async
}

extension Rail {
    public func fetchNext(cursor: String?, pageSize: Int) async throws(RailError) -> RailPage {
        throw RailError(.unsupported, "rail \(descriptor.id) has no pulls")
    }

    public func verifyWebhook(headers: [String: String], body: [UInt8]) async throws(RailError) -> RailDelivery {
        throw RailError(.unsupported, "rail \(descriptor.id) takes no webhooks")
    }

    public func statement(from: Date, to: Date, cursor: String?, pageSize: Int) async throws(RailError) -> StatementPage {
        throw RailError(.unsupported, "rail \(descriptor.id) has no statements")
    }

    public func balances(at: Date) async throws(RailError) -> [RailBalance] {
        throw RailError(.unsupported, "rail \(descriptor.id) exposes no balance")
    }

    public func shutdown() async {}
}
