import ArgumentParser
import CardRail
import ERC20Rail
import Foundation
import Ledger
import LedgerAPI
import Logging
import RailKit
import TempoRail
import Timestamps

/// The rails this build of `settle` ships, by kind. The only place that names rail modules: the
/// core and the API see rails through `RailKit` alone.
enum ShippedRails {
    static var registry: RailRegistry {
        var registry = RailRegistry()
        registry.register(kind: "card", CardRail.factory)
        registry.register(kind: "erc20", ERC20Rail.factory)
        registry.register(kind: "tempo", TempoRail.factory)
        registry.register(kind: ProcessRail.kind, ProcessRail.factory)
        return registry
    }

    /// Settings that let `settle rails describe <kind>` show a kind's fund flow with no rails file.
    static let examples: [String: Metadata] = [
        "card": [
            "base_url": .string("http://127.0.0.1:12111"), "api_key": .string("sk_test_example"),
            "webhook_secret": .string("whsec_example"),
        ],
        "erc20": [
            "rpc_url": .string("http://127.0.0.1:8545"), "network": .string("eip155:31337"),
            "tokens": .array([.string("usdc-31337=0x5FbDB2315678afecb367f032d93F642f64180aa3=USDC=6")]),
            "addresses": .array([.string("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720")]),
        ],
        "tempo": [
            "rpc_url": .string("http://127.0.0.1:8545"), "network": .string("eip155:42431"),
            "tokens": .array([.string("pathusd-42431=0x20c0000000000000000000000000000000000000=pathUSD")]),
            "addresses": .array([.string("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720")]),
        ],
    ]

    /// The rails file: `--rails`, else `SETTLE_RAILS`; none means no rails.
    static func configurations(_ path: String?) throws -> [RailConfiguration] {
        guard let path = path ?? ProcessInfo.processInfo.environment["SETTLE_RAILS"], !path.isEmpty else { return [] }
        return try RailConfiguration.load(path: path)
    }

    /// The API's webhook route, taken by the rails' own verification and booked once.
    static func webhookReceiver(rails: [any Rail], booker: RailBooker, logger: Logger) -> WebhookReceiver {
        let webhooks = RailWebhooks(rails: rails, booker: booker, logger: logger)
        return WebhookReceiver { id, headers, body throws(WebhookReceiver.Failure) in
            do throws(RailWebhooks.Failure) {
                return try await webhooks.take(rail: id, headers: headers, body: body) ? .booked : .duplicate
            } catch {
                switch error {
                case .unknownRail(let id): throw .unknownRail(id)
                case .invalid(let e): throw .invalid(code: e.code.rawValue, message: e.message)
                case .retryLater(let e): throw .retryLater(code: e.code.rawValue, message: e.message)
                case .unavailable(let e): throw .unavailable(code: e.code.rawValue, message: e.message)
                }
            }
        }
    }
}

/// `settle rails`: the configured payment rails.
struct RailsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rails", abstract: "Payment rails: describe their fund flows, pull their events, read their statements.",
        discussion: """
            Rails are enabled by a rails file (--rails or SETTLE_RAILS): {"rails": [{"id": "card", "kind": "card", \
            "settings": {"base_url": "...", "api_key": "sk_test_...", "webhook_secret": "whsec_..."}}]}. \
            Kinds shipped: card, process (an out-of-process rail, see docs/rails.md).
            """,
        subcommands: [Describe.self, List.self, Sync.self, Statement.self])

    struct RailOptions: ParsableArguments {
        @Option(help: "The rails file (default: $SETTLE_RAILS).") var rails: String?
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the configured rails.")
        @OptionGroup var options: RailOptions

        func run() async throws {
            for configuration in try ShippedRails.configurations(options.rails) {
                print("\(configuration.id)\t\(configuration.kind)")
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a rail's descriptor and fund flow: states, accounts, and the postings of each transition.")
        @OptionGroup var options: RailOptions
        @Argument(help: "A configured rail id, or a kind (card).") var rail: String
        @Flag(help: "Print the descriptor as JSON.") var json = false

        func run() async throws {
            let logger = Logger(label: "settle")
            let configured = try ShippedRails.configurations(options.rails).first { $0.id == rail }
            guard
                let configuration = configured ?? ShippedRails.examples[rail].map({ RailConfiguration(id: rail, kind: rail, settings: $0) })
            else { throw CommandFailure(description: "no rail \(rail) is configured, and it is not a kind that can be described alone") }
            let made = try await ShippedRails.registry.make([configuration], logger: logger)
            defer { Task { for rail in made { await rail.shutdown() } } }
            let descriptor = made[0].descriptor
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(descriptor), as: UTF8.self))
            } else {
                print(FundFlowText.render(descriptor))
            }
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pull a rail's events from its stored cursor and book them (run it on a schedule).")
        @OptionGroup var options: RailOptions
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "The rail id.") var rail: String
        @Option(help: "Events per page.") var pageSize = 500
        @Option(help: "Stop after this many pages (default: until the rail has no more).") var maxPages: Int?

        func run() async throws {
            let (rail, pageSize, maxPages) = (rail, pageSize, maxPages)
            guard let configuration = try ShippedRails.configurations(options.rails).first(where: { $0.id == rail }) else {
                throw CommandFailure(description: "no rail \(rail) in the rails file")
            }
            let made = try await ShippedRails.registry.make([configuration], logger: db.logger)
            let report = try await db.withLedger(connections: 4) { ledger in
                let booker = RailBooker(ledger: ledger)
                try await booker.install(made[0].descriptor)
                return try await booker.sync(made[0], pageSize: pageSize, maxPages: maxPages ?? .max)
            }
            await made[0].shutdown()
            print("\(rail): \(report)")
            for (key, error) in report.rejected.sorted(by: { $0.key < $1.key }) { print("  rejected \(key): \(error)") }
        }
    }

    struct Statement: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a rail's own records for a time window, one JSON object per line.")
        @OptionGroup var options: RailOptions
        @Argument(help: "The rail id.") var rail: String
        @Option(help: "Start of the window (RFC 3339), inclusive.") var from: String
        @Option(help: "End of the window (RFC 3339), exclusive.") var to: String

        func run() async throws {
            guard let start = RFC3339.date(from: from), let end = RFC3339.date(from: to), start < end else {
                throw ValidationError("--from and --to must be RFC 3339 times with --from before --to")
            }
            guard let configuration = try ShippedRails.configurations(options.rails).first(where: { $0.id == rail }) else {
                throw CommandFailure(description: "no rail \(rail) in the rails file")
            }
            let made = try await ShippedRails.registry.make([configuration], logger: Logger(label: "settle"))
            var cursor: String?
            repeat {
                let page = try await made[0].statement(from: start, to: end, cursor: cursor, pageSize: 100)
                for record in page.records { print(try JSONCoding.line(record)) }
                cursor = page.hasMore ? page.nextCursor : nil
            } while cursor != nil
            await made[0].shutdown()
        }
    }
}

/// A fund flow as text for people.
enum FundFlowText {
    static func render(_ descriptor: RailDescriptor) -> String {
        let flow = descriptor.fundFlow
        var lines = [
            "rail \(descriptor.id) (kind \(descriptor.kind)): \(descriptor.summary)",
            "assets: " + descriptor.assets.map { "\($0.id) (\($0.code), scale \($0.scale))" }.joined(separator: ", "),
            "capabilities: " + descriptor.capabilities.sorted().map(\.rawValue).joined(separator: ", "),
            "states: " + flow.states.joined(separator: " → "),
            "", "accounts:",
        ]
        for role in flow.accounts {
            let flags = [
                role.normalSide.rawValue + "-normal", role.limit == .none ? nil : role.limit.rawValue, role.clearing ? "clearing" : nil,
            ]
            .compactMap { $0 }.joined(separator: ", ")
            lines.append("  \(role.template)  [\(flags)]  \(role.summary)")
        }
        lines += ["", "transitions:"]
        for t in flow.transitions {
            let action: String
            switch t.action {
            case .post: action = "post"
            case .hold(let timeout): action = "hold" + (timeout.map { " (timeout \($0) s)" } ?? "")
            case .postHold(let of, let amount): action = "post the hold of \(of)" + (amount.map { " (amount \($0))" } ?? "")
            case .voidHold(let of): action = "void the hold of \(of)"
            }
            lines.append("  \(t.name): \(t.from.isEmpty ? "∅" : t.from.joined(separator: "|")) → \(t.to)  [\(action)]  \(t.summary)")
            for p in t.postings {
                lines.append("      \(p.direction.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(p.account)  \(p.amount)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
