import EVM

/// Settings of a dev chain and of its JSON-RPC server.
///
/// The chain is ephemeral: its state lives in memory and is gone when the process ends.
public struct DevChainConfiguration: Sendable {
    /// The chain imitated: Ethereum (default) or Tempo (``tempo(port:)``).
    public var network: DevChainNetwork
    /// Tempo: the MPP session escrows deployed at genesis (v1 at Moderato's address, v2 at the
    /// enshrined `0x4D50…`).
    public var sessionEscrows: [TempoChannelEscrow: Address] = [
        .v1: TempoChannelEscrow.v1ModeratoAddress, .v2: TempoChannelEscrow.v2Address,
    ]
    /// Address the JSON-RPC server listens on.
    public var host: String
    /// Port the JSON-RPC server listens on; 0 picks a free one.
    public var port: Int
    /// EIP-155 chain id (31337, as anvil and hardhat, by default).
    public var chainID: UInt64
    /// Interval between blocks mined on a timer; zero mines only on demand (`evm_mine`) or, with
    /// ``automine``, on every transaction.
    public var blockTime: Duration
    /// Mine a block as soon as a transaction arrives.
    public var automine: Bool
    /// The tokens deployed at genesis.
    public var tokens: [TokenConfiguration]
    /// Accounts funded at genesis with ``initialEtherBalance`` and each token's
    /// ``TokenConfiguration/initialBalance``.
    public var fundedAccounts: [Address]
    /// Wei given to each funded account (10,000 ETH by default, as anvil).
    public var initialEtherBalance: UInt256
    /// The constant base fee per gas of every block.
    public var baseFeePerGas: UInt256
    /// What `eth_maxPriorityFeePerGas` suggests.
    public var suggestedPriorityFee: UInt256
    /// The gas limit of every block.
    public var blockGasLimit: UInt64
    /// Timestamp of block 0; nil uses the wall clock at start.
    public var genesisTimestamp: UInt64?
    /// Blocks whose state is kept for historical reads (`eth_getBalance` at a number) and for reorgs.
    public var stateHistory: Int

    public init(
        host: String = "127.0.0.1", port: Int = 8545, chainID: UInt64 = 31337, blockTime: Duration = .seconds(1), automine: Bool = false,
        tokens: [TokenConfiguration] = [.usdc], fundedAccounts: [Address] = TestAccounts.addresses,
        initialEtherBalance: UInt256 = DevChainConfiguration.tenThousandEther, baseFeePerGas: UInt256 = 1_000_000_000,
        suggestedPriorityFee: UInt256 = 1_000_000_000, blockGasLimit: UInt64 = 30_000_000, genesisTimestamp: UInt64? = nil,
        stateHistory: Int = 1_024, network: DevChainNetwork = .ethereum
    ) {
        self.network = network
        self.host = host
        self.port = port
        self.chainID = chainID
        self.blockTime = blockTime
        self.automine = automine
        self.tokens = tokens
        self.fundedAccounts = fundedAccounts
        self.initialEtherBalance = initialEtherBalance
        self.baseFeePerGas = baseFeePerGas
        self.suggestedPriorityFee = suggestedPriorityFee
        self.blockGasLimit = blockGasLimit
        self.genesisTimestamp = genesisTimestamp
        self.stateHistory = stateHistory
    }

    /// A Tempo network as Moderato (chain id 42431): pathUSD and AlphaUSD, fees in attodollars per gas
    /// (a 20 gwei base fee, no tip), no ether, a block every 0.5 s.
    public static func tempo(port: Int = 8545, chainID: UInt64 = 42431) -> DevChainConfiguration {
        DevChainConfiguration(
            port: port, chainID: chainID, blockTime: .milliseconds(500), tokens: [.pathUSD, .alphaUSD], initialEtherBalance: .zero,
            baseFeePerGas: 20_000_000_000, suggestedPriorityFee: .zero, network: .tempo)
    }

    /// 10,000 ETH in wei.
    public static let tenThousandEther = UInt256(10_000_000_000_000_000_000).multipliedReportingOverflow(by: 1_000).partialValue

    /// Checks the values.
    ///
    /// - Throws: ``DevChainError/Code/invalidConfiguration``.
    public func validate() throws(DevChainError) {
        guard chainID > 0 else { throw DevChainError(.invalidConfiguration, "the chain id must be positive") }
        guard (0...65_535).contains(port) else { throw DevChainError(.invalidConfiguration, "the port must be from 0 to 65535") }
        guard blockTime >= .zero else { throw DevChainError(.invalidConfiguration, "the block time must not be negative") }
        guard blockGasLimit >= 21_000 else { throw DevChainError(.invalidConfiguration, "the block gas limit must be at least 21000") }
        guard stateHistory >= 1 else { throw DevChainError(.invalidConfiguration, "the state history must be at least one block") }
        guard Set(tokens.map(\.address)).count == tokens.count else {
            throw DevChainError(.invalidConfiguration, "two tokens share an address")
        }
        if network == .tempo {
            guard tokens.contains(where: { $0.address == TokenConfiguration.pathUSD.address && $0.isTIP20 }) else {
                throw DevChainError(
                    .invalidConfiguration, "a Tempo network needs pathUSD, its default fee token, at \(TokenConfiguration.pathUSD.address)")
            }
            for token in tokens where !token.isTIP20 {
                throw DevChainError(.invalidConfiguration, "token \(token.symbol) is not a TIP-20: a Tempo network has TIP-20 tokens only")
            }
        } else if let token = tokens.first(where: \.isTIP20) {
            throw DevChainError(.invalidConfiguration, "token \(token.symbol) is a TIP-20: TIP-20 tokens need the Tempo network")
        }
        for token in tokens where token.address == .zero {
            throw DevChainError(.invalidConfiguration, "token \(token.symbol) cannot live at the zero address")
        }
    }
}
