import ArgumentParser
import Foundation
import Ledger

/// `settle partitions`: the history tables' partitions (decision 0040). The worker's `partitions`
/// job keeps the next ones ready; `ensure` does it once.
struct PartitionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partitions", abstract: "The partitions of the history (entries by transfer seq, job runs by month).",
        subcommands: [List.self, Ensure.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List each partition with its range, rows and size; the DEFAULT partition of a table first.",
            discussion: """
                A DEFAULT partition holding rows means the partitions job fell behind: see "Partitioning \
                history by time" in docs/operations.md.
                """)
        @OptionGroup var db: DatabaseOptions
        @Flag(help: "Count the rows (scans the whole history) instead of the planner's estimate.") var count = false
        @Flag(help: "Print JSON lines.") var json = false

        func run() async throws {
            let count = count
            let partitions = try await db.withLedger(connections: 1) { try await $0.partitions(count: count) }
            for partition in partitions {
                if json {
                    print(try JSONCoding.line(partition))
                } else {
                    let range = partition.from.map { "[\($0), \(partition.to ?? ""))" } ?? "DEFAULT"
                    let rows = partition.rows.map(String.init) ?? "?"
                    print("\(partition.table)  \(partition.name)  \(range)  rows \(count ? "" : "~")\(rows)  \(partition.bytes) bytes")
                }
            }
        }
    }

    struct Ensure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the partitions needed next (settle.partition_plans says how many ahead), as the worker's job does.")
        @OptionGroup var db: DatabaseOptions

        func run() async throws {
            let made = try await db.withLedger(connections: 1) { try await $0.ensurePartitions() }
            print("created \(made) partitions")
        }
    }
}
