import ArgumentParser
import CardMock
import CardRail
import DevChain
import ERC20Rail
import EVM
import Foundation
import Hummingbird
import Ledger
import LedgerAPI
import LocalPostgres
import Logging
import MPP
import MPPEVM
import MPPSession
import MPPStripe
import MPPTempo
import Paywall
import PostgresNIO
import RailKit
import ServiceLifecycle
import TempoRail
import UnixSignals
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

    /// One service group for every part, the merchant last: a graceful shutdown stops the parts in
    /// reverse order, so the merchant (still setting up, or serving) stops while the database pool,
    /// the chain and the mock it uses are still there.
    private func runSandbox(logger: Logger) async throws {
        let (url, embedded) = try await cancelWhenGracefulShutdown { try await db.resolve() }
        logger.notice("database ready; starting the chain, the card processor mock and the ledger API")
        let home = ProcessInfo.processInfo.environment["SETTLE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.settle"

        // The chain: blocks every second, and at once on each transaction so a payment is quick.
        let chain = try DevChain(configuration: DevChainConfiguration(port: chainPort, blockTime: .seconds(1), automine: true))
        let (chainPorts, chainSink) = AsyncStream.makeStream(of: Int.self)
        let chainApp = DevChainServer.application(
            chain: chain, logger: logger, onServerRunning: { chainSink.yield(DevChainServer.boundPort($0) ?? 0) })
        // The Tempo chain: 0.5 s blocks, as Tempo; its clients wait with eth_sendRawTransactionSync.
        let tempo = try DevChain(configuration: .tempo(port: tempoPort))
        let (tempoPorts, tempoSink) = AsyncStream.makeStream(of: Int.self)
        let tempoApp = DevChainServer.application(
            chain: tempo, logger: logger, onServerRunning: { tempoSink.yield(DevChainServer.boundPort($0) ?? 0) })
        let (mockPorts, mockSink) = AsyncStream.makeStream(of: Int.self)
        let mockConfiguration = CardMockConfiguration(port: cardmockPort, dataDirectory: home + "/sandbox/cardmock")
        try await cancelWhenGracefulShutdown { try await CardMockServer.waitForDataDirectory(of: mockConfiguration, logger: logger) }
        let mockApp = try CardMockServer.application(
            configuration: mockConfiguration, logger: logger,
            onServerRunning: { mockSink.yield(CardMockServer.boundPort($0) ?? 0) })

        let client = PostgresClient(configuration: try url.clientConfiguration(connections: 12), backgroundLogger: logger)
        let ledger = PostgresLedger(client: client, logger: logger)
        let (apiPorts, apiSink) = AsyncStream.makeStream(of: Int.self)
        let apiApp = APIServer.application(
            client: client, configuration: ServerConfiguration(port: apiPort, databaseConnections: 12), logger: logger,
            beforeServing: { ledger in
                if embedded {
                    _ = try await ledger.migrate()
                } else if try await !ledger.schemaIsCurrent() {
                    throw LedgerError(.schemaOutdated, "the database schema is not current: run `settle migrate`")
                }
            },
            onServerRunning: { apiSink.yield($0.localAddress?.port ?? 0) })
        let merchant = ClosureService { [self] in
            let ports = try? await cancelWhenGracefulShutdown { () -> (Int, Int, Int, Int)? in
                guard let rpcPort = await chainPorts.first(where: { _ in true }),
                    let tempoPort = await tempoPorts.first(where: { _ in true }),
                    let mockPort = await mockPorts.first(where: { _ in true }),
                    let ledgerPort = await apiPorts.first(where: { _ in true })
                else { return nil }
                return (rpcPort, tempoPort, mockPort, ledgerPort)
            }
            guard let ports else {
                // Stopped before the parts were up: end normally, so that the group goes on with its
                // graceful shutdown of the parts rather than cancelling them half-started.
                if Task.isShuttingDownGracefully { return }
                throw CommandFailure(description: "sandbox: a service did not start")
            }
            logger.notice("setting up the merchant")
            try await serveMerchant(
                chain: chain, rpcURL: "http://127.0.0.1:\(ports.0)", tempo: tempo, tempoURL: "http://127.0.0.1:\(ports.1)",
                cardmockURL: "http://127.0.0.1:\(ports.2)", ledgerURL: "http://127.0.0.1:\(ports.3)", ledger: ledger, logger: logger)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: chainApp), .init(service: tempoApp), .init(service: mockApp), .init(service: apiApp),
                    .init(service: merchant, successTerminationBehavior: .gracefullyShutdownGroup),
                ], logger: logger))
        try await group.run()
    }

    /// Sets up the books and serves the merchant (paid route + facilitator) and the chain watcher
    /// until the graceful shutdown. A shutdown during the setup lets its few queries finish (the pool
    /// is stopped only after this service) and then stops the group below at once.
    private func serveMerchant(
        chain: DevChain, rpcURL: String, tempo: DevChain, tempoURL: String, cardmockURL: String, ledgerURL: String,
        ledger: PostgresLedger, logger: Logger
    ) async throws {
        let usdc = TokenConfiguration.usdc
        let token = X402Token(
            chainID: 31337, address: usdc.address, name: usdc.name, version: usdc.version, decimals: Int(usdc.decimals),
            assetID: "usdc-31337")
        // The merchant's receiving address and the facilitator's gas key: test accounts 9 and 8,
        // kept out of the keys handed to agents.
        let payTo = TestAccounts.addresses[9]
        let signer = TestAccounts.privateKeys[8]
        let merchant = AccountID("merchant:sandbox:usdc")
        let booker = RailBooker(ledger: ledger)
        let facilitator = X402Facilitator(
            configuration: X402FacilitatorConfiguration(tokens: [token], signer: signer, merchantAccounts: [payTo.lowercased: merchant]),
            rpc: EthereumRPC(url: rpcURL), store: X402SettlementStore(client: ledger.client, logger: logger), booker: booker, logger: logger
        )
        try await booker.install(facilitator.descriptor)
        _ = try await ledger.createAccounts([Account(id: merchant, asset: token.assetID, normalSide: .credit)])
        let key = try await APIKeyStore(client: ledger.client, logger: logger).create(
            scope: .admin, accountPrefix: nil, label: "settle sandbox"
        )
        .token

        let chainRail = try ERC20Rail(
            configuration: RailConfiguration(
                // The dev chain is new on every run: so is its rail, whose cursor belongs to one chain.
                id: "sandbox-chain-" + String(UInt64(Date().timeIntervalSince1970), radix: 36), kind: "erc20",
                settings: [
                    "rpc_url": .string(rpcURL), "network": .string(token.network),
                    "tokens": .array([.string("\(token.assetID)=\(usdc.address.checksummed)=USDC=6")]),
                    "addresses": .array([.string(payTo.checksummed)]), "confirmations": .number(String(confirmations)),
                    "payers": .array([.string(signer.address.checksummed)]), "native_asset": .string("eth-31337=ETH=18"),
                ]), logger: logger)
        try await booker.install(chainRail.descriptor)
        let tempoInfo = DevChainInfo(configuration: tempo.configuration, rpcURL: tempoURL)
        let tempoNetwork = "eip155:\(tempoInfo.chainId)"
        let tempoRail = try TempoRail(
            configuration: RailConfiguration(
                id: "sandbox-tempo-" + String(UInt64(Date().timeIntervalSince1970), radix: 36), kind: "tempo",
                settings: [
                    "rpc_url": .string(tempoURL), "network": .string(tempoNetwork),
                    "tokens": .array(
                        tempoInfo.tokens.map { .string("\($0.symbol.lowercased())-\(tempoInfo.chainId)=\($0.address)=\($0.symbol)") }),
                    "addresses": .array([.string(payTo.checksummed)]), "sponsors": .array([.string(payTo.checksummed)]),
                ]), logger: logger)
        try await booker.install(tempoRail.descriptor)

        // One route, every offer: x402 exact in USDC on the EVM chain, MPP tempo/charge in pathUSD
        // on the Tempo chain (fee sponsored by the merchant), each booked to its own revenue account.
        let pathUSD = TokenConfiguration.pathUSD
        let pathUSDAsset = Asset(
            id: try AssetID("pathusd-\(tempoInfo.chainId)"), code: "pathUSD", scale: 6, rail: "tempo", network: tempoNetwork,
            token: pathUSD.address.lowercased)
        let tempoMerchant = AccountID("merchant:sandbox:pathusd")
        _ = try await ledger.createAccounts([Account(id: tempoMerchant, asset: pathUSDAsset.id, normalSide: .credit)])
        let tempoCharge = TempoChargeMethod(
            configuration: TempoChargeConfiguration(
                chainID: tempoInfo.chainId, rpc: EthereumRPC(url: tempoURL), currencies: [pathUSD.address: pathUSDAsset],
                feePayer: signer, booker: booker, logger: logger))
        let mppServer = MPPServer(
            configuration: MPPServerConfiguration(realm: "127.0.0.1", secrets: try Self.mppSecrets()),
            proofs: MPPProofStore(client: ledger.client, logger: logger))
        // Cards through the mock's shared payment tokens: booked by the card rail (which the sandbox
        // pulls every second) from the processor's events, into the card asset's revenue account.
        let cardRail = try CardRail(
            configuration: RailConfiguration(
                id: "sandbox-card", kind: "card",
                settings: ["base_url": .string(cardmockURL), "api_key": .string(Self.cardmockAPIKey)]),
            logger: logger)
        try await booker.install(cardRail.descriptor)
        let cardMerchant = AccountID("merchant:sandbox:card")
        _ = try await ledger.createAccounts([Account(id: cardMerchant, asset: cardRail.descriptor.assets[0].id, normalSide: .credit)])
        let stripeCharge = StripeChargeMethod(rail: cardRail, networkID: Self.cardNetworkID, revenueAccount: cardMerchant, logger: logger)
        let evmCharge = EVMChargeMethod(facilitator: facilitator, token: token, recipient: payTo, logger: logger)
        // Sessions: a channel opened once on the Tempo chain's v2 escrow (v1 also taken), then a
        // voucher per call, settled in bulk by the merchant's key (test account 9, the payTo).
        let sessionStore = SessionStore(ledger: ledger, logger: logger)
        let tempoSession = TempoSessionMethod(
            configuration: SessionConfiguration(
                otherEscrows: [.v1: TempoChannelEscrow.v1ModeratoAddress], chainID: tempoInfo.chainId, token: pathUSD.address,
                recipient: payTo, settlementKey: TestAccounts.privateKeys[9], feePayer: TestAccounts.privateKeys[9],
                amountPerUnit: EVM.UInt256(UInt64(price)), suggestedDeposit: EVM.UInt256(UInt64(price) * 1_000), asset: pathUSDAsset.id),
            rpc: EthereumRPC(url: tempoURL), store: sessionStore, logger: logger)
        let sessionSettler = SessionSettler(method: tempoSession, logger: logger)
        let jokeOffers = [
            MPPOffer(method: tempoSession, request: tempoSession.configuration.request, description: "A joke about ledgers, per call"),
            try tempoCharge.offer(
                TempoCharge(amount: EVM.UInt256(UInt64(price)), currency: pathUSD.address, recipient: payTo, feePayer: true),
                description: "A joke about ledgers"),
            stripeCharge.offer(amount: Self.cardPrice, description: "A joke about ledgers (cards: 50¢ minimum)"),
            evmCharge.offer(amount: EVM.UInt256(UInt64(price)), description: "A joke about ledgers"),
        ]
        let mpp = MPPMiddleware<BasicRequestContext>(
            server: mppServer, routes: [MPPRoute(path: "/paid/joke", offers: jokeOffers, merchantAccount: tempoMerchant.rawValue)])
        let x402 = X402Middleware<BasicRequestContext>(
            configuration: X402ServerConfiguration(routes: [
                X402Route(
                    path: "/paid/joke",
                    accepts: [
                        .exact(
                            network: token.network, amount: String(price), asset: usdc.address.checksummed, payTo: payTo.checksummed,
                            name: usdc.name, version: usdc.version)
                    ])
            ]), facilitator: facilitator, store: X402ResponseStore(client: ledger.client, logger: logger))
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.group().add(middleware: PaymentSchemes<BasicRequestContext>([mpp, x402]))
            .get("/paid/joke") { _, _ in #"{"joke":"\#(Self.joke)"}"# }
        // The same joke as a paid MCP tool (MPP over JSON-RPC `_meta`).
        MCPRoutes.add(
            to: router, path: "/mcp",
            server: MCPPaymentServer(
                server: mppServer,
                tools: [
                    MCPTool(
                        name: "joke", description: "A joke about ledgers",
                        route: MPPRoute(path: nil, offers: jokeOffers, merchantAccount: tempoMerchant.rawValue)
                    ) { _ in [.object(["type": .string("text"), "text": .string(Self.joke)])] }
                ]))
        // Open: the sandbox listens on loopback only and its line says so (facilitatorAccess).
        X402FacilitatorRoutes.add(to: router.group("x402/facilitator"), facilitator: facilitator, access: .open)
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let merchantApp = Application(
            router: CanonicalPaths(router), configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "settle-sandbox"),
            onServerRunning: { sink.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let watcher = RailWatcher(rail: chainRail, booker: booker, logger: logger)
        let tempoWatcher = RailWatcher(rail: tempoRail, booker: booker, logger: logger)
        let cardWatcher = RailWatcher(rail: cardRail, booker: booker, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [sessionStore, merchantApp, watcher, tempoWatcher, cardWatcher, sessionSettler], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let merchantPort = await iterator.next(), merchantPort > 0 else {
                throw CommandFailure(description: "sandbox: the server did not start")
            }
            let server = "http://127.0.0.1:\(merchantPort)"
            let info = DevChainInfo(configuration: chain.configuration, rpcURL: rpcURL)
            let line = SandboxInfo(
                server: server, paidURL: server + "/paid/joke", mcpURL: server + "/mcp", facilitatorURL: server + "/x402/facilitator",
                facilitatorAccess: "open",
                networks: [
                    .init(kind: "erc20", caip2: token.network, chainId: info.chainId, rpcURL: rpcURL, tokens: info.tokens),
                    .init(
                        kind: "tempo", caip2: tempoNetwork, chainId: tempoInfo.chainId, rpcURL: tempoURL, tokens: tempoInfo.tokens,
                        sessionEscrow: tempoInfo.sessionEscrow),
                ],
                offers: [
                    .init(scheme: "x402", kind: "exact", network: token.network, asset: usdc.address.checksummed, amount: String(price)),
                    .init(
                        scheme: "mpp", kind: "tempo/charge", network: tempoNetwork, asset: pathUSD.address.checksummed,
                        amount: String(price), feeSponsored: true, merchantAccount: tempoMerchant.rawValue),
                    .init(
                        scheme: "mpp", kind: "tempo/session", network: tempoNetwork, asset: pathUSD.address.checksummed,
                        amount: String(price), feeSponsored: true, merchantAccount: tempoMerchant.rawValue),
                    .init(
                        scheme: "mpp", kind: "stripe/charge", network: "stripe:" + Self.cardNetworkID, asset: "usd",
                        amount: String(Self.cardPrice), merchantAccount: cardMerchant.rawValue),
                    .init(
                        scheme: "mpp", kind: "evm/charge", network: token.network, asset: usdc.address.checksummed, amount: String(price)),
                ],
                testKeys: Array(info.testKeys.prefix(8)), cardmockURL: cardmockURL, ledgerAPI: ledgerURL, apiKey: key,
                merchantAccount: merchant.rawValue, payTo: payTo.checksummed)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            // Unbuffered: whoever reads the first line must get it now, not at exit.
            FileHandle.standardOutput.write(try encoder.encode(line) + Data("\n".utf8))
            try await tasks.waitForAll()
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
}

extension SandboxCommand {
    static let joke = "A ledger walks into a bar. The bartender says: that'll be two entries."
    /// The card mock's key the sandbox's card rail uses (the mock takes any `sk_test_…` key).
    static let cardmockAPIKey = "sk_test_settle_sandbox"
    /// The seller profile shared payment tokens must be granted to.
    static let cardNetworkID = "profile_settle_sandbox"
    /// Cards cost 50¢ (shared payment tokens' minimum), in cents.
    static let cardPrice: Int64 = 50

    /// The MPP challenge secrets: `SETTLE_MPP_SECRETS` (comma-separated, the first signs, the
    /// others still verify), else a random one for this run.
    static func mppSecrets() throws -> ChallengeSecrets {
        if let configured = ProcessInfo.processInfo.environment["SETTLE_MPP_SECRETS"], !configured.isEmpty {
            return try ChallengeSecrets(configured.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        let random = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        return try ChallengeSecrets([random])
    }
}

/// Pulls a rail every second (a chain's blocks, the card processor's events), so payments reach
/// the ledger by themselves.
struct RailWatcher: Service {
    let rail: any Rail
    let booker: RailBooker
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let report = try await booker.sync(rail, pageSize: 500)
                if report.created > 0 { logger.notice("chain rail", metadata: ["report": "\(report)"]) }
            } catch {
                logger.warning("chain rail sync failed", metadata: ["error": "\(error)"])
            }
            // A shutdown ends the pause at once rather than after it.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }
}
