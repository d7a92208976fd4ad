import Foundation
import Ledger
import PostgresNIO
import SettleTesting
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension BinaryTests {
    /// `settle worker` processes on a database of their own: one run per slot with two workers, a
    /// takeover after a worker is killed mid-job, a graceful stop that lets the running job finish,
    /// and `worker status`. A job is held "mid-run" by a lock the test takes on the table it reads,
    /// and every wait polls the run history with a deadline.
    @Suite("settle worker", .timeLimit(.minutes(3)))
    struct WorkerProcessTests {
        static let logger = TestDatabase.logger

        /// A migrated database of its own (the job names are the real ones).
        static func database() async throws -> (DatabaseURL, String) {
            let url = try await TestDatabase.isolatedDatabase()
            try await withLedger(url) { _ in }
            return (url, url.commandLineText)
        }

        /// A worker that runs only holds-expire, every second: configured through the environment, or
        /// through a `--config` file when `file` is given. Leases are long unless a test waits for one
        /// to expire: a loaded machine must not starve a heartbeat into a takeover.
        static func start(
            _ url: String, id: String, lease: Int = 15, metricsPort: Int? = nil, file: String? = nil,
            environment extra: [String: String] = [:]
        ) throws
            -> SettleProcess?
        {
            guard let binary = SettleProcess.binary else {
                if InteropPython.isCI { Issue.record("the settle binary is missing: run scripts/test") }
                return nil
            }
            var environment = ["DATABASE_URL": url, "LOG_LEVEL": "info", "SETTLE_RAILS": "", "SETTLE_CONFIG": ""]
            var arguments = ["worker"]
            let settings: [String: Any] = [
                "id": id, "lease_seconds": lease, "poll_seconds": 0.1, "holds_expire": ["schedule": "* * * * * *"],
                "snapshots": ["schedule": "off"], "metrics_port": metricsPort ?? NSNull(),
            ]
            if let file {
                let document = settings.filter { !($0.value is NSNull) }
                try JSONSerialization.data(withJSONObject: ["worker": document]).write(to: URL(fileURLWithPath: file))
                arguments += ["--config", file]
            } else {
                environment.merge([
                    "WORKER_ID": id, "WORKER_LEASE_SECONDS": String(lease), "WORKER_POLL_SECONDS": "0.1",
                    "WORKER_HOLDS_EXPIRE_SCHEDULE": "* * * * * *", "WORKER_SNAPSHOTS_SCHEDULE": "off",
                    "WORKER_METRICS_PORT": metricsPort.map(String.init) ?? "",
                ]) { $1 }
            }
            return try SettleProcess(binary, arguments, environment: environment.merging(extra) { $1 })
        }

        struct Run: Equatable {
            var generation: Int64
            var slot: Date
            var worker: String
            var outcome: String
        }

        static func runs(_ client: PostgresClient) async throws -> [Run] {
            var runs: [Run] = []
            for try await (generation, slot, worker, outcome) in try await client.query(
                "select generation, scheduled_for, worker, outcome from settle.job_runs where job = 'holds-expire' order by generation",
                logger: logger
            ).decode((Int64, Date, String, String).self) {
                runs.append(Run(generation: generation, slot: slot, worker: worker, outcome: outcome))
            }
            return runs
        }

        static func holder(_ client: PostgresClient) async throws -> String? {
            for try await h in try await client.query("select holder from settle.job_leases where job = 'holds-expire'", logger: logger)
                .decode(String?.self)
            {
                return h
            }
            return nil
        }

        static func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("timed out waiting: \(what)")
            throw CancellationError()
        }

        /// Holds `settle.transfers` locked (what holds-expire reads) until released: the job that
        /// starts meanwhile stays mid-run.
        final class TableLock: Sendable {
            final class Flags: Sendable {
                let locked = Mutex(false)
                let released = Mutex(false)
            }
            let flags: Flags
            let task: Task<Void, any Error>

            /// Returns once the lock is held.
            static func take(_ client: PostgresClient) async throws -> TableLock {
                let lock = TableLock(client)
                try await WorkerProcessTests.eventually("the table locked") { lock.flags.locked.withLock { $0 } }
                return lock
            }

            private init(_ client: PostgresClient) {
                let flags = Flags()
                self.flags = flags
                task = Task {
                    try await client.withTransaction(logger: TestDatabase.logger) { conn in
                        try await conn.query("lock table settle.transfers in access exclusive mode", logger: TestDatabase.logger)
                        flags.locked.withLock { $0 = true }
                        while !flags.released.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
                    }
                }
            }

            func release() async throws {
                flags.released.withLock { $0 = true }
                try await task.value
            }
        }

        /// Worker `a` on a database of its own, its holds-expire job held mid-run by the lock.
        static func withWorkerMidJob(
            lease: Int = 15, _ body: (_ client: PostgresClient, _ url: String, _ lock: TableLock, _ a: SettleProcess) async throws -> Void
        ) async throws {
            let (url, text) = try await database()
            try await url.withClient(connections: 3, logger: logger) { client in
                let lock = try await TableLock.take(client)
                guard let a = try start(text, id: "a", lease: lease) else { return try await lock.release() }
                defer { a.stop() }
                try await eventually("a's job mid-run") { try await runs(client).map(\.outcome) == ["running"] }
                try await body(client, text, lock, a)
            }
            try await TestDatabase.dropIsolated(url)
        }

        @Test func twoWorkersStartedAtOnceRunEachSlotOnce() async throws {
            let (url, text) = try await Self.database()
            guard let binary = SettleProcess.binary else { return }
            let empty = try await offPool { try runChildProcess(binary, ["worker", "status", "--database-url", text]) }
            let ports = [try freePort(), try freePort()]
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "settle-worker-\(UInt32.random(in: 0...UInt32.max)).json"
            ).path
            defer { try? FileManager.default.removeItem(atPath: file) }
            guard let a = try Self.start(text, id: "a", metricsPort: ports[0]),
                let b = try Self.start(text, id: "b", metricsPort: ports[1], file: file)
            else { return }
            defer { a.stop(); b.stop() }
            try await url.withClient(connections: 2, logger: Self.logger) { client in
                try await Self.eventually("six runs") { try await Self.runs(client).filter { $0.outcome == "succeeded" }.count >= 6 }
                let json = try await offPool { try runChildProcess(binary, ["worker", "status", "--json", "--database-url", text]) }
                let document = try JSONSerialization.jsonObject(with: json) as? [String: Any]
                let jobs = document?["jobs"] as? [[String: Any]] ?? []
                // The default jobs: the chainer (decision 0031), events' retention (0042), holds'
                // expiry, partitions (0040) and webhooks (0039).
                #expect(
                    jobs.compactMap { $0["name"] as? String } == [
                        "chain-advance", "events-prune", "holds-expire", "partitions", "webhooks",
                    ])
                let holds = jobs.first { $0["name"] as? String == "holds-expire" }
                #expect((holds?["last_runs"] as? [Any])?.isEmpty == false, "\(String(decoding: json, as: UTF8.self))")
                #expect(holds?["next_run"] is String)
                let textStatus = String(
                    decoding: try await offPool { try runChildProcess(binary, ["worker", "status", "--database-url", text]) }, as: UTF8.self
                )
                #expect(textStatus.contains("\nholds-expire  * * * * * * (UTC, catch-up latest)"), "\(textStatus)")
                #expect(textStatus.contains("succeeded"), "\(textStatus)")

                // Whichever worker ran jobs exports them.
                var exported = ""
                for process in [a, b] { #expect(try await process.waitForLog("serving the worker's metrics"), "\(process.stderr)") }
                for port in ports {
                    exported += String(
                        decoding: try await offPool { try runChildProcess("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(port)/metrics"]) },
                        as: UTF8.self)
                }
                #expect(exported.contains("settle_worker_runs_total{job=\"holds-expire\",outcome=\"succeeded\"}"), "\(exported)")

                for process in [a, b] { process.signal(SIGTERM) }
                #expect(try await a.exitStatus() == 0, "\(a.stderr)")
                #expect(try await b.exitStatus() == 0, "\(b.stderr)")
                let runs = try await Self.runs(client)
                let slots = runs.map(\.slot)
                #expect(Set(slots).count == slots.count, "a slot ran twice: \(runs)")
                let bad = runs.filter { $0.outcome != "succeeded" }
                #expect(bad.isEmpty, "\(bad)")
                #expect(try await Self.holder(client) == nil, "the lease is released on stop")
            }
            #expect(String(decoding: empty, as: UTF8.self).contains("no jobs"))
            try await TestDatabase.dropIsolated(url)
        }

        /// The snapshots job records every account's balance as of its slot's midnight in the worker's
        /// zone (as the nightly timer did for UTC).
        @Test func snapshotsAreTakenAsOfTheSlotsMidnightInTheWorkersZone() async throws {
            let (url, text) = try await Self.database()
            try await withLedger(url) { ledger in
                _ = try await ledger.createAssets([Asset(id: "usd", code: "USD", scale: 2)])
                _ = try await ledger.createAccounts([Account(id: "a", asset: "usd", normalSide: .credit)])
            }
            guard
                let worker = try Self.start(
                    text, id: "s",
                    environment: [
                        "WORKER_HOLDS_EXPIRE_SCHEDULE": "off", "WORKER_SNAPSHOTS_SCHEDULE": "* * * * * *",
                        "WORKER_TIME_ZONE": "America/New_York",
                    ])
            else { return }
            defer { worker.stop() }
            try await url.withClient(connections: 2, logger: Self.logger) { client in
                func slots() async throws -> [Date] {
                    var found: [Date] = []
                    for try await slot in try await client.query(
                        "select scheduled_for from settle.job_runs where job = 'snapshots' and outcome = 'succeeded'", logger: Self.logger
                    ).decode(Date.self) {
                        found.append(slot)
                    }
                    return found
                }
                try await Self.eventually("two snapshot runs") { try await slots().count >= 2 }
                worker.signal(SIGTERM)
                #expect(try await worker.exitStatus() == 0, "\(worker.stderr)")
                var newYork = Calendar(identifier: .gregorian)
                newYork.timeZone = try #require(TimeZone(identifier: "America/New_York"))
                let midnights = Set(try await slots().map { newYork.startOfDay(for: $0) })
                var taken = Set<Date>()
                for try await at in try await client.query(
                    "select effective_at from settle.balance_snapshots s join settle.accounts a on a.num = s.account_num where a.id = 'a'",
                    logger: Self.logger
                ).decode(Date.self) {
                    taken.insert(at)
                }
                #expect(taken == midnights)
            }
            try await TestDatabase.dropIsolated(url)
        }

        /// A bad setting stops the command before it touches the database, naming the setting.
        @Test(
            arguments: [
                (["--schedule", "holds-expire=61 * * * *"], [:], "minute field"),
                (["--schedule", "nightly=@daily"], [:], "--schedule takes job=cron"),
                (["--time-zone", "Mars/Olympus_Mons"], [:], "unknown_time_zone"),
                ([], ["WORKER_LEASE_SECONDS": "soon"], "worker.lease_seconds"),
                ([], ["WORKER_LEASE_SECONDS": "0.5"], "worker.lease_seconds"),
            ] as [([String], [String: String], String)])
        func aBadSettingIsRefused(arguments: [String], environment: [String: String], message: String) async throws {
            guard let binary = SettleProcess.binary else { return }
            let process = try SettleProcess(
                binary, ["worker"] + arguments,
                environment: ["DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "SETTLE_CONFIG": ""].merging(environment) { $1 })
            defer { process.stop() }
            #expect(try await process.exitStatus() != 0)
            #expect(process.stderr.contains(message), "\(process.stderr)")
        }

        @Test func aWorkerKilledMidJobIsTakenOverAfterItsLeaseExpires() async throws {
            try await Self.withWorkerMidJob(lease: 3) { client, text, lock, a in
                guard let b = try Self.start(text, id: "b", lease: 3) else { return try await lock.release() }
                defer { b.stop() }
                #expect(try await b.waitForLog("worker started"), "\(b.stderr)")
                a.signal(SIGKILL)
                #expect(try await a.exitStatus() == 128 + SIGKILL)
                try await lock.release()
                try await Self.eventually("b took over") {
                    try await Self.runs(client).filter { $0.worker == "b" && $0.outcome == "succeeded" }.count >= 1
                }
                let runs = try await Self.runs(client)
                #expect(runs.first?.worker == "a" && runs.first?.outcome == "abandoned", "\(runs)")
                #expect(runs.count >= 2 && runs[1].worker == "b" && runs[1].generation == runs[0].generation + 1, "\(runs)")
                #expect(runs.count >= 2 && runs[1].slot >= runs[0].slot, "b runs the latest due slot, which covers a's")
                b.signal(SIGTERM)
                #expect(try await b.exitStatus() == 0, "\(b.stderr)")
            }
        }

        @Test func sigtermLetsTheRunningJobFinishAndReleasesTheLease() async throws {
            try await Self.withWorkerMidJob { client, text, lock, a in
                let binary = try #require(SettleProcess.binary)
                let status = String(
                    decoding: try await offPool { try runChildProcess(binary, ["worker", "status", "--database-url", text]) }, as: UTF8.self
                )
                #expect(status.contains("lease: held by a until"), "\(status)")
                #expect(status.contains("on a, started") && status.contains("running"), "\(status)")
                a.signal(SIGTERM)
                #expect(try await a.waitForLog("the running job may finish within the grace period"), "\(a.stderr)")
                try await lock.release()
                #expect(try await a.exitStatus() == 0, "\(a.stderr)")
                #expect(try await Self.runs(client).map(\.outcome) == ["succeeded"], "finished, and nothing new taken")
                #expect(try await Self.holder(client) == nil)
            }
        }

        /// The nightly job as a process: every rail of the rails file reconciled for the previous
        /// day with that rail's `reconciliation` settings, and a typo in them stops the worker
        /// before it runs anything.
        @Test func theReconcileJobUsesEachRailsSettingsAndATypoStopsTheWorker() async throws {
            let (url, text) = try await Self.database()
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("settle-worker-\(UUID().uuidString)")
            let statements = scratch.appendingPathComponent("statements")
            try FileManager.default.createDirectory(at: statements, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            func railsFile(_ reconciliation: [String: Any]) throws -> String {
                let rail: [String: Any] = [
                    "id": "bank-w", "kind": "process", "reconciliation": reconciliation,
                    "settings": BankFileRailSettings.settings(directory: statements.path, asset: "usd-bank-w", merchant: "merchant:w"),
                ]
                let path = scratch.appendingPathComponent("rails-\(UUID().uuidString).json").path
                try JSONSerialization.data(withJSONObject: ["rails": [rail]]).write(to: URL(fileURLWithPath: path))
                return path
            }
            let reconcileEverySecond = ["WORKER_HOLDS_EXPIRE_SCHEDULE": "off", "WORKER_RECONCILE_SCHEDULE": "* * * * * *"]

            guard
                let typo = try Self.start(
                    text, id: "t", environment: reconcileEverySecond.merging(["SETTLE_RAILS": try railsFile(["sla": 60])]) { $1 })
            else { return }
            defer { typo.stop() }
            #expect(try await typo.exitStatus() != 0)
            #expect(typo.stderr.contains("reconciliation.sla is not a setting"), "\(typo.stderr)")

            let good = try railsFile(["sla_seconds": 60, "amount_tolerance": "2"])
            guard let worker = try Self.start(text, id: "r", environment: reconcileEverySecond.merging(["SETTLE_RAILS": good]) { $1 })
            else { return }
            defer { worker.stop() }
            try await url.withClient(connections: 2, logger: Self.logger) { client in
                func profile() async throws -> (String, String)? {
                    for try await row in try await client.query(
                        """
                        select inputs -> 'profile' ->> 'sla_seconds', inputs -> 'profile' ->> 'amount_tolerance' from settle.recon_runs
                         where rail = 'bank-w' and status = 'complete' and day = (now() at time zone 'UTC')::date - 1
                        """, logger: Self.logger
                    ).decode((String, String).self) {
                        return row
                    }
                    return nil
                }
                try await Self.eventually("yesterday reconciled") { try await profile() != nil }
                let settings = try await profile()
                #expect(settings?.0 == "60" && settings?.1 == "2", "\(String(describing: settings))")
                worker.signal(SIGTERM)
                #expect(try await worker.exitStatus() == 0, "\(worker.stderr)")
            }
            try await TestDatabase.dropIsolated(url)
        }
    }
}
