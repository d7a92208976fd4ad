import ArgumentParser
import DevChain
import Foundation
import Logging
import ServiceLifecycle

/// `settle devchain`: a local Ethereum JSON-RPC chain with EIP-3009 tokens, until SIGTERM or SIGINT.
struct DevChainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devchain", abstract: "Run a local Ethereum JSON-RPC dev chain with EIP-3009 (USDC-style) tokens.",
        discussion: """
            Prints one JSON line once listening: {"rpcURL", "chainId", "tokens": [{"symbol", "address", "decimals", \
            "eip712Name", "eip712Version"}], "testKeys": [...]}. The ten anvil/hardhat test accounts are funded with \
            10000 ETH and 1000000 USDC (token at 0x5FbDB2315678afecb367f032d93F642f64180aa3, domain "USD Coin"/"2"). \
            Only signed type-2 transactions are accepted. Besides the standard eth_ methods it speaks evm_mine, \
            anvil_mine, evm_increaseTime, evm_setNextBlockTimestamp, evm_snapshot/evm_revert, evm_setAutomine and the \
            fault-injection methods devchain_reorg, devchain_dropTransaction, devchain_delayReceipts, and the faucet \
            devchain_fund. State is in memory only: every start is a fresh genesis.

            --network tempo imitates Tempo (Moderato): chain id 42431 unless --chain-id says otherwise, no native \
            token (eth_getBalance answers Tempo's placeholder), TIP-20 stablecoins pathUSD (0x20c0…0000) and \
            AlphaUSD (0x20c0…0001) with 1000000 each per test account, type 0x76 transactions only (batched calls, \
            nonce lanes, expiring nonces, validity windows, fees in a TIP-20, fee sponsorship), \
            eth_sendRawTransactionSync, tempo_fundAddress and tempo_simulateV1, a block every 0.5 s by default and \
            no reorgs.
            """)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).") var port = 8545
    @Option(help: "The chain imitated: ethereum or tempo.") var network = "ethereum"
    @Option(help: "EIP-155 chain id (default 31337, or 42431 on tempo).") var chainId: UInt64?
    @Option(
        help:
            "Seconds between blocks (fractions allowed); 0 mines only on demand (evm_mine) or with --automine (default 1, or 0.5 on tempo)."
    )
    var blockTime: Double?
    @Flag(help: "Mine a block as soon as a transaction arrives.") var automine = false
    @Option(help: "The gas limit of every block (default 30000000, as anvil; Ethereum mainnet's is 60000000).") var blockGasLimit: UInt64?

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        guard DevChainNetwork(rawValue: network) != nil else { throw ValidationError("--network must be ethereum or tempo") }
        guard chainId ?? 1 > 0 else { throw ValidationError("--chain-id must be positive") }
        guard blockGasLimit ?? 21_000 >= 21_000 else { throw ValidationError("--block-gas-limit must be at least 21000") }
        if let blockTime, !(blockTime >= 0 && blockTime.isFinite && blockTime <= 86_400) {
            throw ValidationError("--block-time must be from 0 to 86400 seconds")
        }
    }

    func run() async throws {
        var logger = Logger(label: "settle.devchain")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        var chosen = network == "tempo" ? DevChainConfiguration.tempo(port: port) : DevChainConfiguration(port: port)
        chosen.host = host
        if let chainId { chosen.chainID = chainId }
        if let blockTime { chosen.blockTime = .milliseconds(Int64((blockTime * 1_000).rounded())) }
        chosen.automine = automine
        if let blockGasLimit { chosen.blockGasLimit = blockGasLimit }
        let configuration = chosen
        let chain = try DevChain(configuration: configuration)
        let host = self.host
        let app = DevChainServer.application(
            chain: chain, logger: logger,
            onServerRunning: { channel in
                let port = DevChainServer.boundPort(channel) ?? 0
                let urlHost = host.contains(":") ? "[\(host)]" : host
                let info = DevChainInfo(configuration: configuration, rpcURL: "http://\(urlHost):\(port)")
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                if let data = try? encoder.encode(info) {
                    FileHandle.standardOutput.write(data + Data("\n".utf8))
                }
            })
        try await CommandLifecycle.run(logger: logger) { [logger] in
            try await ServiceGroup(configuration: .init(services: [app], logger: logger)).run()
        }
    }
}
