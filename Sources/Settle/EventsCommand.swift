import ArgumentParser
import Foundation
import Ledger
import LedgerAPI

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Read the ledger's events (decision 0039).",
        subcommands: [Tail.self, Prune.self], defaultSubcommand: Tail.self)

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print events as JSON lines, as GET /v1/events shows them, following new ones.",
            discussion: """
                Starts after the last event (only what happens from now on) unless --after names a position \
                (--after 0: from the first event). With --no-follow, prints what exists and exits; the last \
                position read goes to standard error as `next_cursor=N`, to resume from.
                """)

        @OptionGroup var db: DatabaseOptions
        @Option(help: "The last position already handled (default: the last event now).") var after: Int64?
        @Option(help: "Comma-separated event types to print (default: all).") var types: String?
        @Option(name: .customLong("account-prefix"), help: "Only events touching an account whose id starts with this.")
        var accountPrefix: String?
        @Flag(inversion: .prefixedNo, help: "Wait for new events (the default) or stop at the last one.") var follow = true

        func run() async throws {
            var kinds: Set<LedgerEvent.Kind> = []
            for name in (types ?? "").split(separator: ",") {
                guard let kind = LedgerEvent.Kind(rawValue: String(name)) else {
                    throw ValidationError(
                        "unknown event type \(name); types are \(LedgerEvent.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                kinds.insert(kind)
            }
            let prefix = accountPrefix ?? ""
            let (after, follow, wanted) = (after, follow, kinds)
            try await db.withLedger(connections: 1) { ledger in
                var cursor: Int64
                if let after { cursor = after } else { cursor = try await ledger.sequenceEvents() }
                while true {
                    let page = try await ledger.events(after: cursor, limit: 500, accountPrefix: prefix, types: wanted, scan: 5_000)
                    for event in page.events {
                        FileHandle.standardOutput.write(Data(try EventJSON.event(event) + [UInt8(ascii: "\n")]))
                    }
                    cursor = page.next
                    guard cursor >= page.head else { continue }
                    if !follow {
                        FileHandle.standardError.write(Data("next_cursor=\(cursor)\n".utf8))
                        return
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete events older than a retention period from the outbox (decision 0042).",
            discussion: """
                The transfers and accounts the events announced stay; a cursor among the pruned events then \
                gets cursor_expired. A webhook endpoint holds its unacknowledged events back. The worker's \
                events-prune job does this nightly. Prints pruned_through=N rows_deleted=N [held_by=ENDPOINT].
                """)

        @OptionGroup var db: DatabaseOptions
        @Option(name: .customLong("older-than-days"), help: "Prune the events recorded more than this many days ago.")
        var days: Int

        func validate() throws {
            guard (0...36_500).contains(days) else { throw ValidationError("--older-than-days is from 0 to 36500") }
        }

        func run() async throws {
            let before = Date().addingTimeInterval(-TimeInterval(days) * 86_400)
            try await db.withLedger(connections: 1) { ledger in
                let pruning = try await ledger.pruneEvents(recordedBefore: before)
                var line = "pruned_through=\(pruning.prunedThrough) rows_deleted=\(pruning.rowsDeleted)"
                if let holder = pruning.heldBy { line += " held_by=\(holder)" }
                print(line)
            }
        }
    }
}
