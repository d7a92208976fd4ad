import ArgumentParser
import Foundation
import Ledger
import LocalPostgres
import Logging
import PostgresNIO
import RailKit
import Reconciliation
import Scheduler
import ServiceLifecycle
import X402

/// `settle worker`: the scheduled jobs (holds expiry, rail pulls, snapshots, the nightly
/// reconciliation), run by any number of worker processes with one lease per job in PostgreSQL.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run the scheduled jobs until SIGTERM or SIGINT; show their state.",
        discussion: """
            Jobs and default schedules (cron, 5 fields, read in WORKER_TIME_ZONE, default UTC): \
            holds-expire "* * * * *" (void holds whose timeout passed), rails-sync "*/5 * * * *" (pull each \
            configured rail's events; only with a rails file), snapshots "10 0 * * *" (balances as of the day's \
            midnight, each missed day caught up), reconcile "30 2 * * *" (the previous day, for every configured rail with statements; only with a rails \
            file), x402-pending "* * * * *" (x402 settlements broadcast but never resolved: receipt read, outcome booked; settlements and \
            batch-settlement transactions followed until final, sent again when a reorganization drops them; only with \
            --x402-facilitator, the file settle serve uses), chain-advance "*/10 * * * * *" (the hash chain, decision 0031), \
            chain-checkpoint "0 * * * *" (sign the chain's heads; only with SETTLE_CHAIN_KEY_FILE or SETTLE_CHAIN_KEY), \
            webhooks "*/2 * * * * *" (send the ledger's events to the registered webhook endpoints, decision 0039), \
            events-prune "40 3 * * *" (events older than WORKER_EVENTS_RETENTION_DAYS, 30, leave the outbox, decision 0042), \
            partitions "*/10 * * * *" (create the next partitions of settle.entries and settle.job_runs, decision 0040). Override a schedule with --schedule job=cron, WORKER_<JOB>_SCHEDULE \
            (WORKER_HOLDS_EXPIRE_SCHEDULE, ...) or worker.<job>.schedule in the --config file; "off" disables a job. Lease and timing: \
            WORKER_LEASE_SECONDS (30), WORKER_POLL_SECONDS (10), WORKER_RETRY_SECONDS (60), \
            WORKER_SHUTDOWN_GRACE_SECONDS (20), WORKER_ID (<host>:<pid>), WORKER_CHAIN_LINKS_PER_SECOND (none: chain-advance's budget, \
            for machines whose cores the writers need), WORKER_METRICS_PORT (none: GET /metrics \
            on WORKER_METRICS_HOST, 127.0.0.1). Database: DATABASE_URL (else the \
            embedded database), DATABASE_CONNECTIONS (4). Any number of workers may run: each job runs on one \
            at a time. See docs/operations.md.
            """,
        subcommands: [Run.self, Status.self], defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the scheduled jobs (the default).")

        @Option(help: "A JSON configuration file (default: $SETTLE_CONFIG).") var config: String?
        @Option(help: "The rails file (default: $SETTLE_RAILS): the rails that rails-sync pulls.") var rails: String?
        @Option(help: "The x402 facilitator file (default: $SETTLE_X402_FACILITATOR): its pending settlements are followed.")
        var x402Facilitator: String?
        @Option(help: "This worker's id in leases and runs (default: $WORKER_ID, else <host>:<pid>).") var id: String?
        @Option(help: "The IANA time zone of every schedule (default: $WORKER_TIME_ZONE, else UTC).") var timeZone: String?
        @Option(
            name: .customLong("schedule"),
            help: "A job's schedule, as job=cron (repeatable): holds-expire=\"* * * * *\", snapshots=off, ...")
        var schedules: [String] = []

        func run() async throws {
            var settings = try await WorkerSettings.load(file: config)
            if let id { settings.worker.id = id }
            if let timeZone { settings.timeZone = timeZone }
            for assignment in schedules {
                guard let equals = assignment.firstIndex(of: "="),
                    WorkerSettings.defaultSchedules[String(assignment[..<equals])] != nil
                else {
                    throw ValidationError(
                        "--schedule takes job=cron with a job among \(WorkerSettings.defaultSchedules.keys.sorted()), got \(assignment)")
                }
                settings.schedules[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
            }
            // Every schedule is checked now, not when its job first comes due.
            for job in settings.schedules.keys { _ = try settings.schedule(job) }
            var logger = Logger(label: "settle")
            logger.logLevel = settings.logLevel
            let facilitatorFile = x402Facilitator ?? ProcessInfo.processInfo.environment["SETTLE_X402_FACILITATOR"]
            try await CommandLifecycle.run(logger: logger) { [settings, rails, logger] in
                try await Self.work(settings, railsFile: rails, facilitatorFile: facilitatorFile, logger: logger)
            }
        }

        static func work(_ settings: WorkerSettings, railsFile: String?, facilitatorFile: String?, logger: Logger) async throws {
            let (url, embedded) = try await cancelWhenGracefulShutdown {
                if let text = settings.databaseURL { return (try DatabaseURL(text), false) }
                return (try DatabaseURL(try await LocalPostgres(logger: logger).start()), true)
            }
            let client = PostgresClient(
                configuration: try url.clientConfiguration(connections: settings.databaseConnections), backgroundLogger: logger)
            let ledger = PostgresLedger(client: client, logger: logger)
            let configurations = try ShippedRails.configurations(railsFile)
            let rails = try await ShippedRails.registry.make(configurations, logger: logger)
            let booker = RailBooker(ledger: ledger)
            let reconciler = Reconciler(ledger: ledger, actor: "settle worker")
            let zone = settings.timeZone
            let reconcilable = rails.filter { $0.descriptor.capabilities.contains(.statements) }
            // Checked now: a typo in a rail's reconciliation settings stops the worker at start.
            let profiles = Dictionary(
                uniqueKeysWithValues: try zip(rails, configurations).map { rail, configuration in
                    (rail.descriptor.id, try ReconciliationProfile.configured(for: rail.descriptor, settings: configuration.reconciliation))
                })
            // Every rail with statements, the previous day: a run that could not finish (a rail down)
            // fails the job, which is retried and never reported green; breaks are the report's.
            let reconcile: @Sendable (DateComponents, JobContext) async throws -> Void = { day, _ in
                guard let year = day.year, let month = day.month, let date = day.day else { return }
                let text = String(format: "%04d-%02d-%02d", year, month, date)
                var incomplete: [String] = []
                for rail in reconcilable {
                    let run = try await reconciler.run(
                        rail: rail, day: try ReconciliationDay(text, timeZone: zone), profile: profiles[rail.descriptor.id])
                    if run.status != .complete { incomplete.append(rail.descriptor.id) }
                    if !run.isClean {
                        logger.warning(
                            "reconciliation found breaks",
                            metadata: ["rail": "\(rail.descriptor.id)", "day": "\(text)", "counts": "\(run.counts)"])
                    }
                }
                if !incomplete.isEmpty { throw RailSyncFailure(description: "reconciliation of \(text) incomplete for \(incomplete)") }
            }
            // The worker serves nothing: the file's `access` (who may call the routes) is not used.
            let built = try facilitatorFile.flatMap { path in
                path.isEmpty ? nil : try X402FacilitatorFile.load(path).build(ledger: ledger, loopback: true, logger: logger)
            }
            let chainKey =
                try settings.chainKeyFile.map { try ChainKeySource.signingKey(file: $0) }
                ?? settings.chainKey.map(ChainKey.privateKey(hex:))
            let jobs = try WorkerJobs(
                settings: settings, ledger: ledger, rails: rails, booker: booker, reconcile: reconcilable.isEmpty ? nil : reconcile,
                facilitators: built?.facilitators ?? [], batchFacilitators: built?.batchFacilitators ?? [], chainKey: chainKey
            ).build()
            let worker = try Worker(client: client, jobs: jobs, configuration: settings.worker, logger: logger)
            let service = ClosureService {
                if embedded {
                    try await ledger.migrate()
                } else if try await !ledger.schemaIsCurrent() {
                    throw LedgerError(.schemaOutdated, "the database schema is not current: run `settle migrate`")
                }
                for rail in rails { try await booker.install(rail.descriptor) }
                try await worker.run()
            }
            var failure: (any Error)?
            do {
                // The worker stops first on a shutdown (it records its runs), the pool last.
                var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: client)]
                if let port = settings.metricsPort {
                    services.append(.init(service: WorkerMetricsServer.application(host: settings.metricsHost, port: port, logger: logger)))
                }
                services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup))
                try await ServiceGroup(configuration: .init(services: services, logger: logger)).run()
            } catch {
                failure = error
            }
            for rail in rails { await rail.shutdown() }
            if let failure { throw failure }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each job: its schedule, who holds its lease, its last runs and its next run.")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "Runs shown per job.") var runs = 5
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let runs = runs
            let logger = db.logger
            let (now, jobs) = try await db.withLedger(connections: 1) { ledger in
                try await SchedulerStatus.read(client: ledger.client, runs: runs, logger: logger)
            }
            if json {
                struct Document: Encodable {
                    var now: Date
                    var jobs: [JobStatus]
                }
                print(try JSONCoding.line(Document(now: now, jobs: jobs)))
            } else {
                print(WorkerStatusText.render(now: now, jobs: jobs))
            }
        }
    }
}

/// `settle worker status` for people.
enum WorkerStatusText {
    static func render(now: Date, jobs: [JobStatus]) -> String {
        guard !jobs.isEmpty else { return "no jobs: no worker has started on this database" }
        func time(_ date: Date?) -> String { date.map { $0.formatted(.iso8601) } ?? "-" }
        var lines: [String] = []
        for job in jobs {
            lines.append("\(job.name)  \(job.schedule) (\(job.timeZone), catch-up \(job.catchUp))")
            lines.append("  lease: " + (job.holder.map { "held by \($0) until \(time(job.leaseExpiresAt))" } ?? "free"))
            lines.append("  done through: \(time(job.doneThrough))   next run: \(time(job.nextRun))")
            if let due = job.dueSlot { lines.append("  due now: \(time(due))") }
            if let retry = job.retryAfter { lines.append("  retry after: \(time(retry))") }
            for run in job.lastRuns {
                let error = run.error.map { "  error: \($0)" } ?? ""
                lines.append(
                    "  run \(run.generation): for \(time(run.scheduledFor)) on \(run.worker), started \(time(run.startedAt)), "
                        + "\(run.outcome.rawValue)\(run.finishedAt.map { " at \(time($0))" } ?? "")\(error)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
