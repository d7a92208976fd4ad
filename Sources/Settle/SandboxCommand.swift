import ArgumentParser
import DevChain
import EVM
import Foundation
import Ledger
import Logging
import ServiceLifecycle
import SettleStack
import X402

/// `settle sandbox`: everything an agent developer needs on one machine, with no network: the dev
/// chain (and a Tempo dev chain beside it), the card processor mock, the ledger API, and a merchant server with a paid route and an
/// x402 facilitator; payments are booked in the ledger and followed on chain to finality.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox", abstract: "Run a local sandbox: dev chain, card processor mock, ledger API and an x402-paid route.",
        discussion: """
            Prints one JSON line first with everything an agent needs (server, paidURL, facilitatorURL and its access — \
            open, without authentication, as everything here listens on loopback only —, networks with \
            their RPC URL and tokens (the ERC-20 chain, then the Tempo chain with its session escrows), funded testKeys, \
            cardmockURL, ledgerAPI and an API key), then runs until \
            SIGINT or SIGTERM. Uses the embedded database unless DATABASE_URL is set.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Port of the merchant server with the paid route and the facilitator (0: any).") var port = 8402
    @Option(help: "Port of the ledger API (0: any).") var apiPort = 8080
    @Option(help: "Port of the dev chain's JSON-RPC (0: any).") var chainPort = 8545
    @Option(help: "Port of the Tempo dev chain's JSON-RPC (0: any).") var tempoPort = 8546
    @Option(help: "Port of the card processor mock (0: any).") var cardmockPort = 12111
    @Option(help: "Price of one call of the paid route, in USDC base units (6 decimals).") var price = 1_000
    @Option(help: "Blocks after which a payment is final in the ledger.") var confirmations = 2

    func validate() throws {
        guard price > 0 else { throw ValidationError("--price must be positive") }
        guard (1...64).contains(confirmations) else { throw ValidationError("--confirmations must be from 1 to 64") }
    }

    func run() async throws {
        var logger = db.logger
        logger.logLevel = max(logger.logLevel, .notice)
        try await CommandLifecycle.run(logger: logger) { [self, logger] in try await runSandbox(logger: logger) }
    }

    /// The stack until the graceful shutdown, its first line printed once every part serves.
    private func runSandbox(logger: Logger) async throws {
        let (url, embedded) = try await cancelWhenGracefulShutdown { try await db.resolve() }
        let stack = Stack(
            configuration: StackConfiguration(
                port: port, apiPort: apiPort, chainPort: chainPort, tempoPort: tempoPort, cardmockPort: cardmockPort, price: price,
                confirmations: confirmations, cardmockDirectory: StackConfiguration.home + "/sandbox/cardmock"),
            logger: logger)
        _ = try await stack.run(database: url, embedded: embedded) { running in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            // Unbuffered: whoever reads the first line must get it now, not at exit.
            FileHandle.standardOutput.write(try encoder.encode(SandboxInfo(running)) + Data("\n".utf8))
            try await gracefulShutdown()
        }
    }
}

/// The sandbox's first line.
struct SandboxInfo: Encodable {
    struct Network: Encodable {
        var kind: String
        var caip2: String
        var chainId: UInt64
        var rpcURL: String
        var tokens: [DevChainInfo.Token]
        /// Tempo: the MPP session escrows, `v1` and `v2`.
        var sessionEscrow: [String: String]? = nil
    }

    /// One way to pay `paidURL`: x402 (`PAYMENT-SIGNATURE`) or MPP (`Authorization: Payment`).
    struct Offer: Encodable {
        var scheme: String
        /// The x402 scheme, or the MPP `method/intent`.
        var kind: String
        var network: String
        var asset: String
        /// Base units per call.
        var amount: String
        var feeSponsored: Bool? = nil
        /// The revenue account it is booked to, when not ``SandboxInfo/merchantAccount``.
        var merchantAccount: String? = nil
    }

    var server: String
    var paidURL: String
    /// Priced with x402 `upto`: the client signs ``tokensOffer``'s amount as a maximum, the answer
    /// charges per token it used.
    var tokensURL: String
    var tokensOffer: Offer
    /// An MCP server (Streamable HTTP) whose `joke` tool is paid with MPP.
    var mcpURL: String
    var facilitatorURL: String
    /// `open`: the sandbox's facilitator takes calls without authentication (loopback only).
    var facilitatorAccess: String
    var networks: [Network]
    var offers: [Offer]
    var testKeys: [String]
    var cardmockURL: String
    var ledgerAPI: String
    var apiKey: String
    var merchantAccount: String
    var payTo: String

    init(_ running: RunningStack) {
        server = running.server
        paidURL = running.paidURL
        tokensURL = running.tokensURL
        let upto = running.tokensOffer
        tokensOffer = Offer(scheme: upto.scheme, kind: upto.kind, network: upto.network, asset: upto.asset, amount: upto.amount)
        mcpURL = running.mcpURL
        facilitatorURL = running.facilitatorURL
        facilitatorAccess = "open"
        networks = [
            .init(
                kind: "erc20", caip2: running.token.network, chainId: running.chainInfo.chainId, rpcURL: running.rpcURL,
                tokens: running.chainInfo.tokens),
            .init(
                kind: "tempo", caip2: running.tempoNetwork, chainId: running.tempoInfo.chainId,
                rpcURL: running.tempoURL, tokens: running.tempoInfo.tokens, sessionEscrow: running.tempoInfo.sessionEscrow),
        ]
        offers = running.offers.map {
            Offer(
                scheme: $0.scheme, kind: $0.kind, network: $0.network, asset: $0.asset, amount: $0.amount, feeSponsored: $0.feeSponsored,
                merchantAccount: $0.merchantAccount)
        }
        testKeys = Array(running.chainInfo.testKeys.prefix(8))
        cardmockURL = running.cardmockURL
        ledgerAPI = running.ledgerURL
        apiKey = running.apiKey
        merchantAccount = running.merchantAccount.rawValue
        payTo = running.payTo.checksummed
    }
}
