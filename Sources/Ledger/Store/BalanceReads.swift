import Metrics
import ServiceLifecycle

/// Coalesces concurrent reads of current balances into one query per batch, as ``GroupCommit``
/// does for posts: under load, one round trip and one index scan serve every read that arrived
/// while the previous query ran, instead of one pooled connection per read.
///
/// A read is answered by a query that starts after the read was made, so it sees every transfer
/// acknowledged before it (read-your-writes, no cache to invalidate).
public final class BalanceReads: Service, Sendable {
    public let ledger: PostgresLedger
    private let batches: Coalescer<AccountID, Balance>

    /// - Parameters:
    ///   - maxBatch: the most accounts in one query.
    ///   - maxInFlight: how many queries may run at once.
    public init(ledger: PostgresLedger, maxBatch: Int = 1_000, maxInFlight: Int = 2) {
        self.ledger = ledger
        let batchSize = Recorder(label: "settle_balance_read_batch_size", aggregate: true)
        batches = Coalescer(
            maxBatch: maxBatch, maxInFlight: maxInFlight, closedError: LedgerError(.shuttingDown, "the ledger is shutting down")
        ) { ids in
            batchSize.record(ids.count)
            do throws(LedgerError) {
                let balances = try await ledger.balances(of: ids)
                return ids.map { id in
                    balances[id].map { .success($0) } ?? .failure(LedgerError(.accountNotFound, "account \(id) does not exist"))
                }
            } catch {
                return Array(repeating: .failure(error), count: ids.count)
            }
        }
    }

    /// The account's current balance, read in the next batch.
    /// - Throws: ``LedgerError`` with ``LedgerError/Code/accountNotFound``, or the batch's error.
    public func balance(of id: AccountID) async throws(LedgerError) -> Balance {
        try await batches.submit(id).get()
    }

    /// Reads batches until graceful shutdown, then answers what is queued and returns.
    public func run() async {
        await withGracefulShutdownHandler {
            await batches.run(abandoned: LedgerError(.shuttingDown, "the ledger shut down before reading"))
        } onGracefulShutdown: {
            self.batches.close()
        }
    }
}
