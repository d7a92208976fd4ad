import ArgumentParser
import Foundation
import HTTPLoad
import Ledger
import LedgerAPI
import Logging
import PostgresNIO
import ServiceLifecycle

/// `settle bench api`: durable single-transfer posts over HTTP from many keep-alive clients, all
/// crediting one hot merchant account, then balance reads; the client runs in the same process on
/// the same machine. Prints the ratio to the in-process batched hot-account rate of the same run.
struct APIBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api", abstract: "Benchmark the HTTP service (run a release build).")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Concurrent HTTP/1.1 keep-alive clients.") var clients = 64
    @Option(help: "Measured transfer posts per client.") var requests = 600
    @Option(help: "Unmeasured warm-up posts per client.") var warmup = 50
    @Option(help: "Measured balance reads per client.") var reads = 2_000
    @Option(help: "Transfers of the in-process batched hot-account run.") var ledgerTransfers = 96_000
    @Option(help: "Database connections of the server.") var databaseConnections = 8
    @Option(help: "Batches the server's group commit may have in flight.") var commitInFlight = GroupCommit.Configuration().maxInFlight
    @Option(help: "Transfers that must be queued before a batch starts beside a committing one.")
    var commitMinConcurrent = GroupCommit.Configuration().minConcurrentBatch
    @Option(help: "Rounds of posts and reads against the same server; each is printed, the figures are their medians.")
    var rounds = 1
    @Flag(help: "Print the figures as one JSON object.") var json = false

    func validate() throws {
        guard clients >= 1, requests >= 1, warmup >= 0, reads >= 1, ledgerTransfers >= 3, databaseConnections >= 2, commitInFlight >= 1
        else {
            throw ValidationError("--clients, --requests, --reads, --database-connections and --commit-in-flight must be positive")
        }
    }

    struct Figures: Encodable {
        var api_tps: Double
        var api_p50_ms: Double
        var api_p99_ms: Double
        var api_failed: Int
        var ledger_hot_tps: Double
        var ratio_to_ledger: Double
        var reads_per_s: Double
        var read_p50_ms: Double
        var read_p99_ms: Double
        var read_failed: Int
        var clients: Int
        var merchant_balance_matches: Bool
        var rounds: Int
    }

    func run() async throws {
        let (figures, results) = try await measure()
        if json {
            print(try JSONCoding.line(figures))
        } else {
            func f(_ x: Double) -> String { x.formatted(.number.precision(.fractionLength(0...2))) }
            print("settle bench api: \(clients) keep-alive clients, single transfers to one hot merchant account, client in process")
            if results.count > 1 {
                for (k, round) in results.enumerated() {
                    print(
                        "  round \(k + 1): posts \(f(round.posts.throughput))/s p99 \(f(round.posts.p99.milliseconds)) ms, "
                            + "reads \(f(round.reads.throughput))/s p99 \(f(round.reads.p99.milliseconds)) ms")
                }
                print("  medians of \(results.count) rounds:")
            }
            print(
                "  transfer posts   : \(f(figures.api_tps))/s, p50 \(f(figures.api_p50_ms)) ms, p99 \(f(figures.api_p99_ms)) ms, \(figures.api_failed) failed"
            )
            print("  in-process batch : \(f(figures.ledger_hot_tps))/s (HTTP/batch = \(f(figures.ratio_to_ledger)))")
            print(
                "  balance reads    : \(f(figures.reads_per_s))/s, p50 \(f(figures.read_p50_ms)) ms, p99 \(f(figures.read_p99_ms)) ms, \(figures.read_failed) failed"
            )
            print("  merchant balance = acknowledged transfers: \(figures.merchant_balance_matches)")
        }
    }

    /// Runs the benchmark (also from `settle bench mpp`, which reports the post rate beside its own).
    /// - Throws: when the merchant's balance is not the acknowledged transfers.
    func measure() async throws -> (Figures, [(posts: LoadReport, reads: LoadReport)]) {
        let logger = db.logger
        let (url, embedded) = try await db.resolve()
        let run = "api-bench-\(Int(Date().timeIntervalSince1970 * 1000))"
        let merchant = AccountID(stringLiteralChecked: "\(run):merchant")
        let payers = (0..<clients).map { AccountID(stringLiteralChecked: "\(run):payer:\($0)") }

        // Chart of accounts, keys and the in-process reference rate, on a pool of their own.
        let (ledgerHot, writeToken, readToken) = try await url.withClient(connections: 4, logger: logger) { client in
            let ledger = PostgresLedger(client: client, logger: logger)
            if embedded {
                _ = try await ledger.migrate()
            } else if try await !ledger.schemaIsCurrent() {
                throw LedgerError(.schemaOutdated, "the database schema is not current: run `settle migrate`")
            }
            try await setUp(ledger, run: run, merchant: merchant, payers: payers)
            let hot = try await LedgerBench.postBatched(
                ledger, transfers: ledgerTransfers, batchSize: 8_000, concurrency: 3, idPrefix: "\(run):batch",
                postings: { _, rng in [.debit(payers.randomElement(using: &rng)!, 1), .credit(merchant, 1)] })
            let keys = APIKeyStore(client: client, logger: logger)
            let write = try await keys.create(scope: .write, accountPrefix: "\(run):", label: "settle bench api").token
            let read = try await keys.create(scope: .read, accountPrefix: "\(run):", label: "settle bench api").token
            return (hot, write, read)
        }

        var configuration = ServerConfiguration(
            port: 0, databaseURL: nil, databaseConnections: databaseConnections,
            commit: .init(maxInFlight: commitInFlight, minConcurrentBatch: commitMinConcurrent))
        configuration.logLevel = logger.logLevel
        let serverClient = PostgresClient(
            configuration: try url.clientConfiguration(connections: databaseConnections), backgroundLogger: logger)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = APIServer.application(
            client: serverClient, configuration: configuration, logger: logger,
            onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))

        let results: [(posts: LoadReport, reads: LoadReport)] = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw CommandFailure(description: "bench: the server did not start") }
            defer { Task { await group.triggerGracefulShutdown() } }
            let generator = LoadGenerator(host: "127.0.0.1", port: port, connections: clients)
            let clients = clients
            var results: [(posts: LoadReport, reads: LoadReport)] = []
            for round in 0..<rounds {
                let posts = try await generator.run(
                    requestsPerConnection: requests, warmupPerConnection: warmup,
                    makeRequest: { connection, index in
                        let body = """
                            {"id":"\(run):http:\(round):\(connection):\(index)","postings":[\
                            {"direction":"debit","account":"\(payers[connection % clients].rawValue)","amount":"1"},\
                            {"direction":"credit","account":"\(merchant.rawValue)","amount":"1"}]}
                            """
                        return LoadRequest(
                            method: "POST", path: "/v1/transfers",
                            headers: [("Authorization", "Bearer \(writeToken)"), ("Content-Type", "application/json")],
                            body: Array(body.utf8))
                    },
                    check: { status, _ in status == 201 })
                let balance = LoadRequest(
                    path: "/v1/accounts/\(merchant.rawValue.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")/balance",
                    headers: [("Authorization", "Bearer \(readToken)")])
                let reads = try await generator.run(
                    requestsPerConnection: reads, warmupPerConnection: 20, makeRequest: { _, _ in balance })
                results.append((posts, reads))
            }
            return results
        }

        // Every acknowledged transfer must be in the books: the merchant holds one unit per 201
        // (the warm-up posts included), plus the batched reference run.
        let acknowledged = results.reduce(0) { $0 + $1.posts.completed - $1.posts.failed + clients * warmup }
        let expected = UInt256(UInt64(ledgerTransfers / 3 * 3 + acknowledged))
        let credited = try await url.withClient(connections: 1, logger: logger) { client in
            try await PostgresLedger(client: client, logger: logger).balance(of: merchant).creditsPosted
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let figures = Figures(
            api_tps: median(results.map(\.posts.throughput)), api_p50_ms: median(results.map(\.posts.p50.milliseconds)),
            api_p99_ms: median(results.map(\.posts.p99.milliseconds)),
            api_failed: results.reduce(0) { $0 + $1.posts.failed + $1.posts.transportErrors }, ledger_hot_tps: ledgerHot,
            ratio_to_ledger: median(results.map(\.posts.throughput)) / ledgerHot,
            reads_per_s: median(results.map(\.reads.throughput)), read_p50_ms: median(results.map(\.reads.p50.milliseconds)),
            read_p99_ms: median(results.map(\.reads.p99.milliseconds)),
            read_failed: results.reduce(0) { $0 + $1.reads.failed + $1.reads.transportErrors }, clients: clients,
            merchant_balance_matches: credited == expected, rounds: results.count)
        guard figures.merchant_balance_matches else {
            throw CommandFailure(description: "bench: the merchant's balance \(credited) is not the \(expected) acknowledged transfers")
        }
        return (figures, results)
    }

    private func setUp(_ ledger: PostgresLedger, run: String, merchant: AccountID, payers: [AccountID]) async throws {
        let asset = try AssetID("bench-usd")
        _ = try await ledger.createAssets([Asset(id: asset, code: "USD", scale: 6)])
        let source = AccountID(stringLiteralChecked: "\(run):source")
        var accounts = [Account(id: merchant, asset: asset, normalSide: .credit), Account(id: source, asset: asset, normalSide: .debit)]
        accounts += payers.map { Account(id: $0, asset: asset, normalSide: .credit, limit: .debitsMustNotExceedCredits) }
        _ = try await ledger.createAccounts(accounts)
        let funding = payers.map {
            NewTransfer(
                id: TransferID(stringLiteralChecked: "\($0):fund"), .post([.debit(source, 1_000_000_000), .credit($0, 1_000_000_000)]))
        }
        try LedgerBench.expectCreated(try await ledger.post(funding))
    }
}

extension Duration {
    var milliseconds: Double { seconds * 1_000 }
}
