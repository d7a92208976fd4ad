import Metrics
import ServiceLifecycle

/// Coalesces concurrent single-transfer posts into batches: one database call and one durable
/// commit for many callers, each of whom still gets the result of its own transfer.
///
/// Batching is natural rather than timed: while ``Configuration/maxInFlight`` batches are being
/// committed, new transfers queue up, and the next free slot takes everything queued (up to
/// ``Configuration/maxBatch``). An idle ledger therefore commits a lone transfer at once, and a
/// busy one commits in batches as large as the load makes them, without a timer adding latency
/// to either (decision 0005).
///
/// A caller's `post` returns only after the batch holding its transfer is committed, so an
/// acknowledged transfer is durable. Run it as a `Service`: on graceful shutdown it stops taking
/// transfers (``LedgerError/Code/shuttingDown``), commits everything already queued, then returns.
public final class GroupCommit: Service, Sendable {
    /// How batches are formed.
    public struct Configuration: Sendable, Hashable {
        /// The most transfers in one batch.
        public var maxBatch: Int
        /// How many batches may be committing at once. Two keep the database busy while the next
        /// batch fills; more add lock contention on hot accounts.
        public var maxInFlight: Int
        /// How many transfers must be queued before a batch starts while another is committing.
        public var minConcurrentBatch: Int

        public init(maxBatch: Int = 2_000, maxInFlight: Int = 2, minConcurrentBatch: Int = 16) {
            self.maxBatch = max(1, min(maxBatch, PostgresLedger.maxBatchSize))
            self.maxInFlight = max(1, maxInFlight)
            self.minConcurrentBatch = max(1, minConcurrentBatch)
        }
    }

    public let ledger: PostgresLedger
    public let configuration: Configuration
    private let batches: Coalescer<AuthorizedTransfer, TransferResult>

    private struct AuthorizedTransfer: Sendable {
        var transfer: NewTransfer
        var authority: PostingAuthority
    }

    public init(ledger: PostgresLedger, configuration: Configuration = .init()) {
        self.ledger = ledger
        self.configuration = configuration
        let batchSize = Recorder(label: "settle_commit_batch_size", aggregate: true)
        let commitDuration = Timer(label: "settle_commit_duration_seconds", preferredDisplayUnit: .seconds)
        let committed = Counter(label: "settle_commit_transfers_total")
        batches = Coalescer(
            maxBatch: configuration.maxBatch, maxInFlight: configuration.maxInFlight,
            minConcurrentBatch: configuration.minConcurrentBatch, closedError: LedgerError(.shuttingDown, "the ledger is shutting down")
        ) { transfers in
            let start = ContinuousClock.now
            let results = await Self.commit(transfers, ledger)
            commitDuration.recordNanoseconds(Int64((ContinuousClock.now - start).nanoseconds))
            batchSize.record(transfers.count)
            committed.increment(by: transfers.count)
            return results
        }
    }

    /// Records one transfer in the next batch and returns its result once the batch is committed.
    /// `authority` is checked in the posting call itself (``PostingAuthority``), for each transfer
    /// of the batch on its own.
    /// - Throws: ``LedgerError`` with ``LedgerError/Code/shuttingDown`` after shutdown began, or
    ///   the batch's error (e.g. ``LedgerError/Code/database``); then the transfer may or may not be
    ///   recorded, and posting it again with the same id tells which.
    public func post(_ transfer: NewTransfer, authority: PostingAuthority = .ledger) async throws(LedgerError) -> TransferResult {
        try await batches.submit(AuthorizedTransfer(transfer: transfer, authority: authority)).get()
    }

    /// Commits batches until graceful shutdown, then commits what is queued and returns.
    public func run() async {
        await withGracefulShutdownHandler {
            await batches.run(abandoned: LedgerError(.shuttingDown, "the ledger shut down before committing"))
        } onGracefulShutdown: {
            self.batches.close()
        }
    }

    private static func commit(_ items: [AuthorizedTransfer], _ ledger: PostgresLedger) async -> [Result<TransferResult, LedgerError>] {
        do {
            return try await ledger.post(items.map(\.transfer), authorities: items.map(\.authority), atomic: false).map { .success($0) }
        } catch  where error.code == .overflow && items.count > 1 {
            // One transfer would overflow a balance and the database refused the whole batch:
            // commit them one by one, so that only that transfer's caller gets the error.
            var results: [Result<TransferResult, LedgerError>] = []
            for item in items {
                do { results.append(.success(try await ledger.post(item.transfer, authority: item.authority))) } catch {
                    results.append(.failure(error))
                }
            }
            return results
        } catch {
            return Array(repeating: .failure(error), count: items.count)
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
