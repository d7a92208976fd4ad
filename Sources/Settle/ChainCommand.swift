import ArgumentParser
import Crypto
import Foundation
import Ledger

/// `settle chain`: the hash chain of decision 0031. `advance` chains what was written since the
/// last run, `checkpoint` signs the heads, `keygen` makes the signing key. `settle verify --chain`
/// proves it.
struct ChainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain", abstract: "Tamper evidence: a hash chain per account and signed checkpoints.",
        discussion: """
            The worker runs chain-advance (every 10 s) and, with a key, chain-checkpoint (hourly); these \
            commands do the same once. Verify with settle verify --chain --public-key FILE.
            """,
        subcommands: [Advance.self, Checkpoint.self, Keygen.self])

    struct Advance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Chain every entry written since the last run; exit 1 if an account cannot be chained.")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "The most links one round (one transaction) writes.") var maxLinksPerRound = 10_000
        @Option(help: "A budget of links per second, so the chainer leaves the cores to the writers (default: none).")
        var maxLinksPerSecond: Int?

        func validate() throws {
            if let budget = maxLinksPerSecond, budget < 1 { throw ValidationError("--max-links-per-second must be at least 1") }
        }

        func run() async throws {
            let (limit, budget) = (maxLinksPerRound, maxLinksPerSecond)
            let advance = try await db.withLedger(connections: 1) {
                try await $0.advanceChain(maxLinksPerRound: limit, maxLinksPerSecond: budget)
            }
            print("chained \(advance.links) links over \(advance.accounts) accounts in \(advance.rounds) rounds")
            for problem in advance.problems { print("cannot chain: \(problem)") }
            if !advance.problems.isEmpty { throw ExitCode(1) }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Advance the chain, then sign its heads; print the checkpoint as one JSON line to keep elsewhere.")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "The signing key file (default: $SETTLE_CHAIN_KEY_FILE, else the hex key in $SETTLE_CHAIN_KEY).")
        var key: String?

        func run() async throws {
            let signingKey = try ChainKeySource.signingKey(file: key)
            let checkpoint = try await db.withLedger(connections: 1) { ledger in
                try await ledger.advanceChain()
                return try await ledger.takeChainCheckpoint(signingKey: signingKey)
            }
            print(try JSONCoding.line(checkpoint))
        }
    }

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an Ed25519 checkpoint key: the private key to FILE (mode 600), the public key to FILE.pub.")
        @Argument(help: "Where to write the private key (it must not exist).") var file: String

        func run() async throws {
            let key = Curve25519.Signing.PrivateKey()
            let manager = FileManager.default
            guard !manager.fileExists(atPath: file) else { throw ValidationError("\(file) exists: not overwriting a key") }
            guard
                manager.createFile(
                    atPath: file, contents: Data((key.rawRepresentation.lowercaseHex + "\n").utf8), attributes: [.posixPermissions: 0o600])
            else { throw CommandFailure(description: "cannot write \(file)") }
            try Data((key.publicKey.rawRepresentation.lowercaseHex + "\n").utf8).write(to: URL(fileURLWithPath: file + ".pub"))
            print("key \(ChainKey.id(of: key.publicKey)): private \(file), public \(file).pub")
        }
    }
}

/// Where the checkpoint keys come from: files of 64 hex digits, or the environment. Never the database.
enum ChainKeySource {
    /// `file`, else `$SETTLE_CHAIN_KEY_FILE`, else the hex key in `$SETTLE_CHAIN_KEY`; nil if none is set.
    static func configuredSigningKey(file: String?) throws -> Curve25519.Signing.PrivateKey? {
        let environment = ProcessInfo.processInfo.environment
        if let path = file ?? environment["SETTLE_CHAIN_KEY_FILE"], !path.isEmpty {
            return try ChainKey.privateKey(hex: try read(path))
        }
        if let hex = environment["SETTLE_CHAIN_KEY"], !hex.isEmpty { return try ChainKey.privateKey(hex: hex) }
        return nil
    }

    static func signingKey(file: String?) throws -> Curve25519.Signing.PrivateKey {
        guard let key = try configuredSigningKey(file: file) else {
            throw ValidationError("no signing key: pass --key FILE, or set SETTLE_CHAIN_KEY_FILE or SETTLE_CHAIN_KEY")
        }
        return key
    }

    static func publicKey(file: String) throws -> Curve25519.Signing.PublicKey {
        try ChainKey.publicKey(hex: try read(file))
    }

    private static func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CommandFailure(description: "cannot read the key file \(path): \(error.localizedDescription)")
        }
    }
}
