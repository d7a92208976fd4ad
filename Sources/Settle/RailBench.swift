import ArgumentParser
import CardMock
import CardRail
import Foundation
import Ledger
import Logging
import PostgresNIO
import RailKit
import ServiceLifecycle

/// `settle bench rails`: how fast card events become ledger transfers, and micro-debits against
/// held card limits, next to the ledger's own hot-account rate in the same run.
struct RailBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rails", abstract: "Benchmark rail ingest (run a release build).")
    @OptionGroup var db: DatabaseOptions
    @Option(help: "Card payments whose events are booked (each: capture, allocation, availability).") var payments = 30_000
    @Option(help: "Events per booking call (a pull's page).") var pageSize = 2_000
    @Option(help: "Card payments made on the in-process processor mock for the end-to-end pull.") var pulledPayments = 1_000
    @Option(help: "Micro-debits against held card limits.") var debits = 96_000
    @Flag(help: "Print the figures as one JSON object.") var json = false

    struct Figures: Encodable {
        var card_events_per_s: Double
        var card_pull_events_per_s: Double
        var card_pull_events: Int
        var limit_debits_per_s: Double
        var ledger_hot_tps: Double
        var limit_debits_ratio_to_hot: Double
    }

    func validate() throws {
        guard payments >= 1, pageSize >= 1, pulledPayments >= 0, debits >= 3 else { throw ValidationError("counts must be positive") }
    }

    func run() async throws {
        let options = self
        let figures = try await db.withLedger(connections: 8) { ledger in try await options.measure(ledger) }
        if json {
            print(try JSONCoding.line(figures))
        } else {
            func f(_ x: Double) -> String { x.formatted(.number.precision(.fractionLength(0...2))) }
            print("settle bench rails")
            print("  card events booked (translated, pages of \(pageSize))  : \(f(figures.card_events_per_s)) events/s")
            print(
                "  card events pulled from the processor mock end to end: \(f(figures.card_pull_events_per_s)) events/s (\(figures.card_pull_events) events)"
            )
            print("  micro-debits against held card limits            : \(f(figures.limit_debits_per_s))/s")
            print(
                "  ledger hot-account batches, same run             : \(f(figures.ledger_hot_tps))/s (ratio \(f(figures.limit_debits_ratio_to_hot)))"
            )
        }
    }

    func measure(_ ledger: PostgresLedger) async throws -> Figures {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let logger = db.logger
        let rail = try CardRail(
            configuration: RailConfiguration(
                id: "bench-\(tag)", kind: "card",
                settings: [
                    "base_url": .string("http://127.0.0.1:1"), "api_key": .string("sk_test_bench"), "asset_prefix": .string("bench\(tag)"),
                ]), logger: logger)
        let booker = RailBooker(ledger: ledger)
        try await booker.install(rail.descriptor)
        let asset = rail.descriptor.assets[0].id

        // 1. Card events, as the rail translates them: a capture with its fee, the top-up it funds,
        //    and its availability, per payment; booked a page per call.
        var events: [RailEvent] = []
        events.reserveCapacity(payments * 3)
        let at = Date()
        for k in 0..<payments {
            let amount: UInt64 = 2_000
            let fee: UInt64 = 88
            events.append(
                RailEvent(
                    transition: "captured", reference: "txn_\(tag)_\(k)", asset: asset,
                    amounts: ["amount": UInt256(amount), "fee": UInt256(fee), "net": UInt256(amount - fee)], occurredAt: at))
            events.append(
                RailEvent(
                    transition: "topped_up", reference: "pi_\(tag)_\(k)", asset: asset, amounts: ["amount": UInt256(amount)],
                    bindings: ["wallet": "bench:\(tag):agent:\(k % 1_000)"], occurredAt: at))
            events.append(
                RailEvent(
                    transition: "available", reference: "txn_\(tag)_\(k)", asset: asset, amounts: ["amount": UInt256(amount - fee)],
                    occurredAt: at))
        }
        // Wallets exist before timing: creating accounts is not ingest.
        _ = try await booker.book(Array(events.prefix(3_000)), on: rail.descriptor)
        let timedEvents = Array(events.dropFirst(3_000))
        let start = ContinuousClock.now
        for page in stride(from: 0, to: timedEvents.count, by: pageSize) {
            let outcomes = try await booker.book(Array(timedEvents[page..<min(page + pageSize, timedEvents.count)]), on: rail.descriptor)
            if let bad = outcomes.first(where: { !$0.isBooked }) {
                throw CommandFailure(description: "bench: a card event was not booked: \(bad)")
            }
        }
        let cardRate = Double(timedEvents.count) / (ContinuousClock.now - start).seconds

        // 2. End to end: payments on the processor mock, then one pull that fetches, translates and
        //    books their events.
        let (pullRate, pulled) = try await pullFromMock(ledger, logger: logger, tag: tag)

        // 3. Micro-debits: each agent draws on its own authorized card limit, all to one merchant.
        let merchant = try AccountID("bench:\(tag):merchant")
        _ = try await ledger.createAccounts([Account(id: merchant, asset: asset, normalSide: .credit)])
        let agents = 3_000
        let limits = (0..<agents).map {
            RailEvent(
                transition: "authorized", reference: "pi_\(tag)_limit_\($0)", asset: asset, amounts: ["amount": 1_000_000],
                bindings: ["wallet": "bench:\(tag):limit:\($0)"], occurredAt: at)
        }
        _ = try await booker.book(limits, on: rail.descriptor)
        let wallets = try (0..<agents).map { try AccountID("bench:\(tag):limit:\($0)") }
        let debitRate = try await LedgerBench.postBatched(
            ledger, transfers: debits, batchSize: 8_000, concurrency: 3, idPrefix: "bench:\(tag):debit",
            postings: { worker, rng in
                // Each worker draws on its own third of the wallets, as sharded API servers would.
                let wallet = wallets[worker * (agents / 3) + Int.random(in: 0..<(agents / 3), using: &rng)]
                return [.debit(wallet, 1), .credit(merchant, 1)]
            })
        // The ledger's hot-account rate, same run: the same shape on payers funded by a plain transfer.
        let source = try AccountID("bench:\(tag):source")
        let payers = try (0..<agents).map { try AccountID("bench:\(tag):payer:\($0)") }
        _ = try await ledger.createAccounts(
            [Account(id: source, asset: asset, normalSide: .debit)]
                + payers.map { Account(id: $0, asset: asset, normalSide: .credit, limit: .debitsMustNotExceedCredits) })
        _ = try await ledger.post(
            try payers.map { NewTransfer(id: try TransferID("\($0):fund"), .post([.debit(source, 1_000_000), .credit($0, 1_000_000)])) })
        let hotRate = try await LedgerBench.postBatched(
            ledger, transfers: debits, batchSize: 8_000, concurrency: 3, idPrefix: "bench:\(tag):hot",
            postings: { worker, rng in
                [.debit(payers[worker * (agents / 3) + Int.random(in: 0..<(agents / 3), using: &rng)], 1), .credit(merchant, 1)]
            })
        return Figures(
            card_events_per_s: cardRate, card_pull_events_per_s: pullRate, card_pull_events: pulled, limit_debits_per_s: debitRate,
            ledger_hot_tps: hotRate, limit_debits_ratio_to_hot: debitRate / hotRate)
    }

    /// Runs the processor mock in process, makes `pulledPayments` top-ups on it, and times one
    /// `RailBooker.sync` of their events.
    private func pullFromMock(_ ledger: PostgresLedger, logger: Logger, tag: String) async throws -> (Double, Int) {
        guard pulledPayments > 0 else { return (0, 0) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("settle-bench-cardmock-\(tag)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var quiet = logger
        quiet.logLevel = .error
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = try CardMockServer.application(
            configuration: .init(port: 0, dataDirectory: directory), logger: quiet,
            onServerRunning: { sink.yield(CardMockServer.boundPort($0) ?? 0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: quiet))
        let payments = pulledPayments
        return try await withThrowingTaskGroup(of: (Double, Int)?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            defer { Task { await group.triggerGracefulShutdown() } }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                throw CommandFailure(description: "bench: the processor mock did not start")
            }
            let rail = try CardRail(
                configuration: RailConfiguration(
                    id: "pull-\(tag)", kind: "card",
                    settings: [
                        "base_url": .string("http://127.0.0.1:\(port)"), "api_key": .string("sk_test_bench"),
                        "asset_prefix": .string("pull\(tag)"),
                    ]), logger: quiet)
            let booker = RailBooker(ledger: ledger)
            try await booker.install(rail.descriptor)
            try await withThrowingTaskGroup(of: Void.self) { makers in
                for worker in 0..<8 {
                    makers.addTask {
                        for k in stride(from: worker, to: payments, by: 8) {
                            _ = try await rail.topUp(
                                wallet: try AccountID("pull:\(tag):agent:\(k % 100)"), amount: 2_000, currency: "usd",
                                paymentMethod: "pm_card_visa",
                                idempotencyKey: "\(tag)-\(k)")
                        }
                    }
                }
                try await makers.waitForAll()
            }
            let start = ContinuousClock.now
            let report = try await booker.sync(rail, pageSize: 500)
            let elapsed = (ContinuousClock.now - start).seconds
            guard report.rejected.isEmpty, report.outOfOrder == nil else { throw CommandFailure(description: "bench: pull: \(report)") }
            return (Double(report.events) / elapsed, report.events)
        }
    }
}
