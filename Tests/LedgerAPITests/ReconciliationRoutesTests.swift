import Foundation
import LedgerAPI
import NIOHTTP1
import PostgresNIO
import SettleTesting
import Testing

/// The reconciliation read routes serve what the reconciler recorded, behind the `read` scope.
@Suite("Reconciliation routes")
struct ReconciliationRoutesTests {
    @Test func runsAndBreaksAreServed() async throws {
        try await TestServer.with { s in
            let rail = "r\(UInt32.random(in: 0...UInt32.max))"
            let logger = TestDatabase.logger
            var runID: Int64 = 0
            let rows = try await s.client.query(
                """
                insert into settle.recon_runs (rail, day, time_zone, window_start, cutoff, as_of, inputs, status, finished_at, counts)
                values (\(rail), '2026-11-20', 'UTC', '2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z', '2026-11-21T02:00:00Z', '{}',
                        'complete', now(), '{"matched": 5, "missing_in_ledger": 1}')
                returning id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { runID = id }
            try await s.client.query(
                """
                insert into settle.recon_breaks (run_id, rail, day, code, fingerprint, reference, asset, rail_amount, first_seen, evidence)
                values (\(runID), \(rail), '2026-11-20', 'missing_in_ledger', 'missing_in_ledger:usd:txn_1', 'txn_1', 'usd', 600,
                        '2026-11-20', '{"rail": [], "ledger": []}')
                """, logger: logger)

            let runs = try await s.call(.GET, "/v1/reconciliation/runs?rail=\(rail)&date=2026-11-20", key: s.read).expect(200)
            #expect(runs.text.contains(#""id":\#(runID)"#) && runs.text.contains(#""status":"complete""#))
            let run = try await s.call(.GET, "/v1/reconciliation/runs/\(runID)", key: s.read).expect(200)
            #expect(run["rail"] == rail)
            let breaks = try await s.call(.GET, "/v1/reconciliation/breaks?rail=\(rail)&open=true", key: s.read).expect(200)
            #expect(breaks.text.contains(#""code":"missing_in_ledger""#) && breaks.text.contains(#""rail_amount":"600""#))

            try await s.call(.GET, "/v1/reconciliation/runs/999999999999", key: s.read).expectProblem(404, "not_found")
            try await s.call(.GET, "/v1/reconciliation/runs?date=yesterday", key: s.read).expectProblem(400, "invalid_query")
            try await s.call(.GET, "/v1/reconciliation/breaks?open=maybe", key: s.read).expectProblem(400, "invalid_query")
            try await s.call(.GET, "/v1/reconciliation/runs").expect(401)
        }
    }
}
