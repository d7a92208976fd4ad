import CardRail
import DevChain
import ERC20Rail
import EVM
import Foundation
import Hummingbird
import Ledger
import LedgerAPI
import Logging
import MPP
import MPPEVM
import MPPSession
import MPPStripe
import MPPTempo
import NIOCore
import Paywall
import RailKit
import ServiceLifecycle
import TempoRail
import X402

/// The merchant side of a ``Stack``, once the chains, the mock and the API listen: the books, the
/// rails, every offer of the paid route, and the server with its rail watchers.
struct MerchantParts: Sendable {
    var configuration: StackConfiguration
    var chain: DevChain
    var rpcURL: String
    var tempo: DevChain
    var tempoURL: String
    var cardmockURL: String
    var ledgerURL: String
    var ledger: PostgresLedger
    var logger: Logger

    /// Sets up the books and serves the merchant (paid route + facilitator) and the rail watchers,
    /// runs `body`, then stops them. A shutdown during the setup lets its few queries finish (the
    /// pool is stopped only after this part) and then stops the group below at once.
    func serve(_ body: @Sendable (RunningStack) async throws -> Void) async throws {
        let (configuration, logger, ledger, rpcURL, tempoURL, cardmockURL) = (configuration, logger, ledger, rpcURL, tempoURL, cardmockURL)
        let usdc = TokenConfiguration.usdc
        let token = X402Token(
            chainID: 31337, address: usdc.address, name: usdc.name, version: usdc.version, decimals: Int(usdc.decimals),
            assetID: "usdc-31337")
        // The merchant's key is the run's own: its wallet accounts (per token and address) outlive
        // the run's fresh chains in the books, and the drift check compares them with this chain
        // alone. It holds a million pathUSD, as a test account does, for the Tempo fees it pays.
        // The facilitator's gas key is test account 8, kept out of the keys handed to agents.
        let merchantKey = try PrivateKey(bytes: Keccak256.hash(Array("settle sandbox merchant \(configuration.runTag)".utf8)).bytes)
        let payTo = merchantKey.address
        try await tempo.fund(payTo, ether: .zero, token: TokenConfiguration.pathUSD.address, tokenAmount: 1_000_000_000_000)
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
            scope: .admin, accountPrefix: nil, label: configuration.label
        )
        .token

        let chainRail = try ERC20Rail(
            configuration: RailConfiguration(
                // The dev chain is new on every run: so is its rail, whose cursor belongs to one chain.
                id: "sandbox-chain-" + configuration.runTag, kind: "erc20",
                settings: [
                    "rpc_url": .string(rpcURL), "network": .string(token.network),
                    "tokens": .array([.string("\(token.assetID)=\(usdc.address.checksummed)=USDC=6")]),
                    "addresses": .array([.string(payTo.checksummed)]), "confirmations": .number(String(configuration.confirmations)),
                    "payers": .array([.string(signer.address.checksummed)]), "native_asset": .string("eth-31337=ETH=18"),
                ]), logger: logger)
        try await booker.install(chainRail.descriptor)
        let tempoInfo = DevChainInfo(configuration: tempo.configuration, rpcURL: tempoURL)
        let tempoNetwork = "eip155:\(tempoInfo.chainId)"
        let tempoRail = try TempoRail(
            configuration: RailConfiguration(
                id: "sandbox-tempo-" + configuration.runTag, kind: "tempo",
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
            configuration: MPPServerConfiguration(realm: "127.0.0.1", secrets: try Stack.mppSecrets()),
            proofs: MPPProofStore(client: ledger.client, logger: logger))
        // Cards through the mock's shared payment tokens: booked by the card rail (which the sandbox
        // pulls every second) from the processor's events, into the card asset's revenue account.
        var cardSettings: Metadata = ["base_url": .string(cardmockURL), "api_key": .string(Stack.cardmockAPIKey)]
        if let prefix = configuration.cardAssetPrefix { cardSettings["asset_prefix"] = .string(prefix) }
        let cardRail = try CardRail(
            configuration: RailConfiguration(
                id: configuration.cardRailID, kind: "card", settings: cardSettings),
            logger: logger)
        try await booker.install(cardRail.descriptor)
        let cardMerchant = try AccountID("merchant:\(configuration.cardAssetPrefix ?? "sandbox"):card")
        _ = try await ledger.createAccounts([Account(id: cardMerchant, asset: cardRail.descriptor.assets[0].id, normalSide: .credit)])
        let stripeCharge = StripeChargeMethod(rail: cardRail, networkID: Stack.cardNetworkID, revenueAccount: cardMerchant, logger: logger)
        let evmCharge = EVMChargeMethod(facilitator: facilitator, token: token, recipient: payTo, logger: logger)
        // Sessions: a channel opened once on the Tempo chain's v2 escrow (v1 also taken), then a
        // voucher per call, settled in bulk by the merchant's key (the payTo).
        let sessionStore = SessionStore(ledger: ledger, logger: logger)
        let tempoSession = TempoSessionMethod(
            configuration: SessionConfiguration(
                otherEscrows: [.v1: TempoChannelEscrow.v1ModeratoAddress], chainID: tempoInfo.chainId, token: pathUSD.address,
                recipient: payTo, settlementKey: merchantKey, feePayer: merchantKey,
                amountPerUnit: EVM.UInt256(UInt64(configuration.price)), suggestedDeposit: EVM.UInt256(UInt64(configuration.price) * 1_000),
                asset: pathUSDAsset.id),
            rpc: EthereumRPC(url: tempoURL), store: sessionStore, logger: logger)
        let sessionSettler = SessionSettler(method: tempoSession, logger: logger)
        let jokeOffers = [
            MPPOffer(method: tempoSession, request: tempoSession.configuration.request, description: "A joke about ledgers, per call"),
            try tempoCharge.offer(
                TempoCharge(amount: EVM.UInt256(UInt64(configuration.price)), currency: pathUSD.address, recipient: payTo, feePayer: true),
                description: "A joke about ledgers"),
            stripeCharge.offer(amount: Stack.cardPrice, description: "A joke about ledgers (cards: 50¢ minimum)"),
            evmCharge.offer(amount: EVM.UInt256(UInt64(configuration.price)), description: "A joke about ledgers"),
        ]
        let mpp = MPPMiddleware<BasicRequestContext>(
            server: mppServer, routes: [MPPRoute(path: "/paid/joke", offers: jokeOffers, merchantAccount: tempoMerchant.rawValue)])
        // x402's prepaid mode on the same route: Settle's own batch-settlement facilitator, with a
        // gas key of its own (funded here) so that its nonces never meet the exact facilitator's.
        let batchSigner = try PrivateKey(bytes: Keccak256.hash(Array("settle sandbox x402 batch signer".utf8)).bytes)
        try await chain.fund(batchSigner.address, ether: DevChainConfiguration.tenThousandEther)
        let batchConfiguration = X402BatchConfiguration(
            token: token, signer: batchSigner,
            // Per run, as the chain is: a channel id covers the authorizer, so a payer's channel of an
            // earlier run (in books that outlive the chain) is never taken for this run's.
            receiverAuthorizer: try PrivateKey(
                bytes: Keccak256.hash(Array("settle sandbox x402 receiver authorizer \(configuration.runTag)".utf8)).bytes),
            merchantAccounts: [payTo.lowercased: merchant])
        let batchStore = X402BatchStore(ledger: ledger, token: token, logger: logger)
        try await batchStore.prepare()
        let batch = X402BatchServer(
            facilitator: X402BatchFacilitator(configuration: batchConfiguration, rpc: EthereumRPC(url: rpcURL), logger: logger),
            store: batchStore, logger: logger)
        // Usage-priced answers (LLM tokens): x402 upto, a signed maximum of ten calls' price, of
        // which the handler charges what its answer used.
        let tokensMaximum = String(UInt64(configuration.price) * 10)
        let x402 = X402Middleware<BasicRequestContext>(
            configuration: X402ServerConfiguration(
                routes: [
                    X402Route(
                        path: "/paid/tokens",
                        accepts: [
                            .upto(
                                network: token.network, maximum: tokensMaximum, asset: usdc.address.checksummed, payTo: payTo.checksummed,
                                name: usdc.name, version: usdc.version, facilitator: signer.address)
                        ]),
                    X402Route(
                        path: "/paid/joke",
                        accepts: [
                            .exact(
                                network: token.network, amount: String(configuration.price), asset: usdc.address.checksummed,
                                payTo: payTo.checksummed,
                                name: usdc.name, version: usdc.version),
                            // A deposit covers a hundred calls: what a prepaid agent does not use comes back.
                            batchConfiguration.requirements(
                                amount: String(configuration.price), payTo: payTo, minDeposit: String(UInt64(configuration.price) * 100)),
                        ]),
                ], tokens: [token]), facilitator: facilitator, store: X402ResponseStore(client: ledger.client, logger: logger), batch: batch
        )
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.group().add(middleware: PaymentSchemes<BasicRequestContext>([mpp, x402]))
            .get("/paid/joke") { _, _ in #"{"joke":"\#(Stack.joke)"}"# }
        let tokenPrice = UInt64(configuration.price) / 10
        router.group().add(middleware: x402).get("/paid/tokens") { _, _ in Stack.tokensAnswer(pricePerToken: tokenPrice) }
        // The same joke as a paid MCP tool (MPP over JSON-RPC `_meta`).
        MCPRoutes.add(
            to: router, path: "/mcp",
            server: MCPPaymentServer(
                server: mppServer,
                tools: [
                    MCPTool(
                        name: "joke", description: "A joke about ledgers",
                        route: MPPRoute(path: nil, offers: jokeOffers, merchantAccount: tempoMerchant.rawValue)
                    ) { _ in [.object(["type": .string("text"), "text": .string(Stack.joke)])] }
                ]))
        // Open: the sandbox listens on loopback only and its line says so (facilitatorAccess).
        X402FacilitatorRoutes.add(to: router.group("x402/facilitator"), facilitator: facilitator, access: .open)
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let merchantApp = Application(
            router: CanonicalPaths(router),
            configuration: .init(
                address: .hostname("127.0.0.1", port: configuration.port),
                serverName: configuration.label.replacingOccurrences(of: " ", with: "-")),
            onServerRunning: { sink.yield($0.localAddress?.port ?? 0) }, logger: logger)
        var services: [any Service] = [sessionStore, merchantApp]
        if configuration.watchesRails {
            let rails: [any Rail] = [chainRail, tempoRail, cardRail]
            services += rails.map { RailWatcher(rail: $0, booker: booker, logger: logger) as any Service }
        }
        services.append(sessionSettler)
        // Claims and sweeps of the prepaid channels: often, as a sandbox shows them happening.
        services.append(
            X402BatchSettler(server: batch, configuration: .init(interval: .seconds(2), age: .seconds(10)), logger: logger))
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let merchantPort = await iterator.next(), merchantPort > 0 else {
                throw StackError(.notStarted, "the server did not start")
            }
            let server = "http://127.0.0.1:\(merchantPort)"
            let info = DevChainInfo(configuration: chain.configuration, rpcURL: rpcURL)
            let price = String(configuration.price)
            let running = RunningStack(
                configuration: configuration, server: server, ledgerURL: ledgerURL, cardmockURL: cardmockURL, apiKey: key, chain: chain,
                chainInfo: info, rpcURL: rpcURL, tempo: tempo, tempoInfo: tempoInfo, tempoURL: tempoURL, ledger: ledger, booker: booker,
                chainRail: chainRail,
                tempoRail: tempoRail, cardRail: cardRail, token: token, pathUSDAsset: pathUSDAsset, merchantAccount: merchant,
                tempoMerchantAccount: tempoMerchant, cardMerchantAccount: cardMerchant, payTo: payTo,
                offers: [
                    .init(scheme: "x402", kind: "exact", network: token.network, asset: usdc.address.checksummed, amount: price),
                    .init(scheme: "x402", kind: "batch-settlement", network: token.network, asset: usdc.address.checksummed, amount: price),
                    .init(
                        scheme: "mpp", kind: "tempo/charge", network: tempoNetwork, asset: pathUSD.address.checksummed, amount: price,
                        feeSponsored: true, merchantAccount: tempoMerchant.rawValue),
                    .init(
                        scheme: "mpp", kind: "tempo/session", network: tempoNetwork, asset: pathUSD.address.checksummed, amount: price,
                        feeSponsored: true, merchantAccount: tempoMerchant.rawValue),
                    .init(
                        scheme: "mpp", kind: "stripe/charge", network: "stripe:" + Stack.cardNetworkID, asset: "usd",
                        amount: String(Stack.cardPrice), merchantAccount: cardMerchant.rawValue),
                    .init(scheme: "mpp", kind: "evm/charge", network: token.network, asset: usdc.address.checksummed, amount: price),
                ],
                tokensOffer: .init(
                    scheme: "x402", kind: "upto", network: token.network, asset: usdc.address.checksummed, amount: tokensMaximum))
            try await body(running)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
