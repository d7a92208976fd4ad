import ArgumentParser
import Logging

@main
struct SettleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settle",
        abstract: "Settle: a double-entry settlement ledger for machine payments, on PostgreSQL.",
        discussion: """
            With DATABASE_URL unset, settle starts (or reuses) its own local PostgreSQL cluster and \
            applies the schema, so every command works with no configuration.
            """,
        subcommands: [
            DemoCommand.self, MigrateCommand.self, DBCommand.self, VerifyCommand.self, AssetsCommand.self,
            AccountsCommand.self, TransfersCommand.self, BalanceCommand.self, HistoryCommand.self, HoldsCommand.self,
            SnapshotsCommand.self, ServeCommand.self, KeysCommand.self, RailsCommand.self, CardMockCommand.self, DevChainCommand.self,
            SandboxCommand.self, WorkerCommand.self, ReconcileCommand.self, BreaksCommand.self, ReportCommand.self, BenchCommand.self,
            ChainCommand.self, EventsCommand.self, PartitionsCommand.self,
        ]
    )

    static func main() async {
        LoggingSystem.bootstrap({ label, provider in LogfmtHandler(label: label, metadataProvider: provider) }, metadataProvider: nil)
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
