import ArgumentParser
import Foundation
import Ledger
import LedgerAPI

/// `settle keys`: API keys of the HTTP service.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke API keys.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print it once; only its hash is stored.",
            discussion: "Scopes: read (GET routes), write (read + accounts and transfers), admin (write + assets).")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "read, write or admin.") var scope: APIKey.Scope
        @Option(
            name: .customLong("accounts"), help: "Limit the key to accounts whose id starts with this prefix, ending with : (e.g. agent:).")
        var accountPrefix: String?
        @Option(help: "A note on who holds the key.") var label = ""
        @Flag(help: "Print the key as JSON.") var json = false

        func run() async throws {
            let (scope, prefix, label) = (scope, accountPrefix, label)
            let (key, token) = try await db.withLedger(connections: 1) { ledger in
                try await APIKeyStore(client: ledger.client).create(scope: scope, accountPrefix: prefix, label: label)
            }
            if json {
                print(try JSONCoding.line(["id": key.id, "scope": key.scope.rawValue, "key": token, "accounts": key.accountPrefix ?? ""]))
            } else {
                print(token)
                FileHandle.standardError.write(
                    Data(
                        "key \(key.id): scope \(key.scope.rawValue)\(key.accountPrefix.map { ", accounts \($0)*" } ?? ""). Shown once: store it now.\n"
                            .utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var db: DatabaseOptions

        func run() async throws {
            let keys = try await db.withLedger(connections: 1) { ledger in try await APIKeyStore(client: ledger.client).list() }
            for key in keys {
                let state = key.revokedAt.map { "revoked \($0.formatted(.iso8601))" } ?? "active"
                print(
                    "\(key.id)  \(key.scope.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0))  \(key.accountPrefix.map { "\($0)*" } ?? "*")  \(state)  \(key.label)"
                )
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key; servers refuse it within their key cache time (2 s by default).")
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "The key's id (16 hex digits) or the key itself.") var key: String

        func run() async throws {
            let id = key.hasPrefix("settle_") ? String(key.split(separator: "_").dropFirst().first ?? "") : key
            let found = try await db.withLedger(connections: 1) { ledger in try await APIKeyStore(client: ledger.client).revoke(id: id) }
            guard found else { throw CommandFailure(description: "no key with id \(id)") }
            print("revoked \(id)")
        }
    }
}

extension APIKey.Scope: ExpressibleByArgument {}
