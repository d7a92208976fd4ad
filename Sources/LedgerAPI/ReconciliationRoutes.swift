import Foundation
import Hummingbird
import Ledger
import Reconciliation

/// The read side of reconciliation over HTTP: runs and their breaks, as `settle reconcile` and the
/// worker record them.
struct ReconciliationRoutes: Sendable {
    let store: ReconciliationStore

    /// `GET /v1/reconciliation/runs?rail=&date=&limit=`: runs, newest first.
    func runs(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try Self.limit(query["limit"].map(String.init))
        let runs = try await call {
            try await store.runs(rail: try Self.rail(query["rail"]), day: try Self.day(query["date"].map(String.init)), limit: limit)
        }
        return try APIJSON.response(ItemsWire(items: runs))
    }

    /// `GET /v1/reconciliation/runs/{id}`.
    func run(_ id: String) async throws -> Response {
        guard let number = Int64(id) else { throw APIError(.notFound, .notFound, "reconciliation run \(id) does not exist") }
        return try APIJSON.response(try await call { try await store.run(number) })
    }

    /// `GET /v1/reconciliation/breaks?run=&rail=&date=&open=true`: the breaks of one run, or of the
    /// latest finished run of each rail and day.
    func breaks(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var run: Int64?
        if let text = query["run"] {
            guard let number = Int64(String(text)) else { throw APIError(.invalidQuery, .badRequest, "run must be a run id") }
            run = number
        }
        let open: Bool
        switch query["open"].map(String.init) {
        case nil, "false": open = false
        case "true": open = true
        default: throw APIError(.invalidQuery, .badRequest, "open must be true or false")
        }
        let limit = try Self.limit(query["limit"].map(String.init))
        let breaks = try await call {
            try await store.breaks(
                run: run, rail: try Self.rail(query["rail"]), day: try Self.day(query["date"].map(String.init)), openOnly: open,
                limit: limit)
        }
        return try APIJSON.response(ItemsWire(items: breaks))
    }

    /// A rail id as a filter: text PostgreSQL can hold (no NUL), of a rail id's length, refused
    /// with a 400 before the database sees it.
    private static func rail(_ text: Substring?) throws(APIError) -> String? {
        guard let text else { return nil }
        guard (1...200).contains(text.unicodeScalars.count), !text.utf8.contains(0) else {
            throw APIError(.invalidQuery, .badRequest, "rail must be 1-200 characters without NUL")
        }
        return String(text)
    }

    private static func day(_ text: String?) throws(APIError) -> String? {
        guard let text else { return nil }
        do { _ = try ReconciliationDay(text) } catch { throw APIError(.invalidQuery, .badRequest, "date must be yyyy-MM-dd") }
        return text
    }

    private static func limit(_ text: String?) throws(APIError) -> Int {
        guard let text else { return 100 }
        guard let n = Int(text), (1...1_000).contains(n) else {
            throw APIError(.invalidQuery, .badRequest, "limit must be an integer from 1 to 1000")
        }
        return n
    }

    private func call<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ReconciliationError where error.code == .notFound {
            throw APIError(.notFound, .notFound, error.message)
        } catch let error as ReconciliationError {
            throw APIError(.databaseUnavailable, .serviceUnavailable, error.message)
        }
    }
}
