import ArgumentParser
import Foundation
import Ledger

struct AssetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "assets", abstract: "Assets.", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an asset.")
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "Asset id, e.g. usdc-base.") var id: String
        @Option(help: "Display code, e.g. USDC.") var code: String
        @Option(help: "Decimals of a display unit.") var scale: Int
        @Option(help: "Rail id, e.g. erc20.") var rail: String?
        @Option(help: "CAIP-2 network, e.g. eip155:8453.") var network: String?
        @Option(help: "Token address on the network.") var token: String?

        func run() async throws {
            let asset = Asset(id: try AssetID(id), code: code, scale: scale, rail: rail, network: network, token: token)
            let r = try await db.withLedger(connections: 1) { try await $0.createAssets([asset]) }[0]
            print("asset \(id): \(r.word)")
            if case .rejected = r { throw ExitCode(1) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List assets as JSON lines.")
        @OptionGroup var db: DatabaseOptions
        func run() async throws {
            for asset in try await db.withLedger(connections: 1, { try await $0.assets() }) { print(try JSONCoding.line(asset)) }
        }
    }
}

struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts", abstract: "Accounts.", subcommands: [Create.self, Show.self, Close.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account.")
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "Account id, e.g. merchant:acme:usdc.") var id: String
        @Option(help: "Asset id.") var asset: String
        @Option(help: "debit or credit.") var normal: String
        @Option(help: "none, debits_must_not_exceed_credits or credits_must_not_exceed_debits.") var limit: String = "none"
        @Option(help: "Chart-of-accounts code, e.g. wallet.") var code: String = ""
        @Option(help: "Id in your own system.") var externalID: String?

        func run() async throws {
            guard let side = Account.Side(rawValue: normal) else { throw ValidationError("--normal must be debit or credit") }
            guard let limit = Account.Limit(rawValue: limit) else {
                throw ValidationError("--limit must be none, debits_must_not_exceed_credits or credits_must_not_exceed_debits")
            }
            let account = Account(
                id: try AccountID(id), asset: try AssetID(asset), code: code, normalSide: side, limit: limit, externalID: externalID)
            let r = try await db.withLedger(connections: 1) { try await $0.createAccounts([account]) }[0]
            print("account \(id): \(r.word)")
            if case .rejected = r { throw ExitCode(1) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an account as JSON.")
        @OptionGroup var db: DatabaseOptions
        @Argument var id: String
        func run() async throws {
            let id = try AccountID(id)
            guard let account = try await db.withLedger(connections: 1, { try await $0.account(id) }) else {
                throw LedgerError(.accountNotFound, "account \(id) does not exist")
            }
            print(try JSONCoding.line(account))
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close an account to new transfers.")
        @OptionGroup var db: DatabaseOptions
        @Argument var id: String
        func run() async throws {
            let id = try AccountID(id)
            try await db.withLedger(connections: 1) { try await $0.closeAccount(id) }
            print("account \(id): closed")
        }
    }
}

struct TransfersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transfers", abstract: "Transfers.", subcommands: [Post.self, Show.self])

    struct Post: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Post transfers from a JSON-lines file (one transfer per line; '-' reads standard input).",
            discussion: "Prints one JSON result per transfer, in order. Exits 1 if any transfer was rejected.")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "The file of transfers.") var file: String
        @Flag(help: "All or nothing: write nothing unless every transfer is accepted.") var atomic = false
        @Option(help: "Transfers per database call (at most 10000; --atomic sends the whole file in one call).")
        var batchSize = 8_000

        func run() async throws {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            var transfers: [NewTransfer] = []
            for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.allSatisfy(\.isWhitespace) {
                do {
                    transfers.append(try JSONCoding.decoder.decode(NewTransfer.self, from: Data(line.utf8)))
                } catch {
                    throw ValidationError("line \(n + 1): \(error)")
                }
            }
            let size = atomic ? max(transfers.count, 1) : max(1, min(batchSize, PostgresLedger.maxBatchSize))
            let results = try await db.withLedger(connections: 2) { [transfers, atomic] ledger in
                var all: [TransferResult] = []
                for start in stride(from: 0, to: transfers.count, by: size) {
                    all += try await ledger.post(Array(transfers[start..<min(start + size, transfers.count)]), atomic: atomic)
                }
                return all
            }
            for r in results { print(try JSONCoding.line(r.json)) }
            if results.contains(where: { $0.error != nil }) { throw ExitCode(1) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a transfer with its lines as JSON.")
        @OptionGroup var db: DatabaseOptions
        @Argument var id: String
        func run() async throws {
            let id = try TransferID(id)
            guard let t = try await db.withLedger(connections: 1, { try await $0.transfer(id) }) else {
                throw LedgerError(.transferNotFound, "transfer \(id) does not exist")
            }
            print(try JSONCoding.line(t))
        }
    }
}

struct BalanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "balance", abstract: "Print an account's balance as JSON.")
    @OptionGroup var db: DatabaseOptions
    @Argument var account: String
    @Option(help: "RFC 3339 effective time: the balance as of then.") var at: String?

    func run() async throws {
        let id = try AccountID(account)
        let when = try at.map(parseTime)
        let b = try await db.withLedger(connections: 1) { try await $0.balance(of: id, asOf: when) }
        print(try JSONCoding.line(BalanceView(b)))
    }
}

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Print an account's entries, newest first, as JSON lines.")
    @OptionGroup var db: DatabaseOptions
    @Argument var account: String
    @Option var limit = 50
    @Option(help: "Cursor printed by the previous page.") var cursor: String?

    func run() async throws {
        let id = try AccountID(account)
        let page = try await db.withLedger(connections: 1) { [limit, cursor] in try await $0.entries(of: id, limit: limit, cursor: cursor) }
        for entry in page.items { print(try JSONCoding.line(entry)) }
        if let next = page.nextCursor { print("next cursor: \(next)") }
    }
}

/// A balance with its derived figures, as printed.
struct BalanceView: Encodable {
    var account: AccountID
    var debitsPosted, creditsPosted, debitsPending, creditsPending: UInt256
    var posted, available: SignedAmount
    var version: Int64
    var asOf: Date?

    init(_ b: Balance) {
        account = b.account
        debitsPosted = b.debitsPosted
        creditsPosted = b.creditsPosted
        debitsPending = b.debitsPending
        creditsPending = b.creditsPending
        posted = b.posted
        available = b.available
        version = b.version
        asOf = b.asOf
    }
}
