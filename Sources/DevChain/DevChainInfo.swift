import EVM

/// What a client needs to use a dev chain: its URL, chain id, tokens and test keys. `settle
/// devchain` prints it as its first line; `devchain_info` returns it (without the URL).
public struct DevChainInfo: Sendable, Hashable, Codable {
    public struct Token: Sendable, Hashable, Codable {
        public var symbol: String
        /// EIP-55 checksummed.
        public var address: String
        public var decimals: UInt8
        /// The EIP-712 domain name (x402's `extra.name`).
        public var eip712Name: String
        /// The EIP-712 domain version (x402's `extra.version`).
        public var eip712Version: String
    }

    public var rpcURL: String?
    /// `ethereum` or `tempo`.
    public var network: String
    public var chainId: UInt64
    public var tokens: [Token]
    /// Tempo: the MPP session escrows, `v1` and `v2` (EIP-55 addresses); nil on Ethereum.
    public var sessionEscrow: [String: String]?
    /// Private keys (hex) of the funded well-known test accounts.
    public var testKeys: [String]

    public init(configuration: DevChainConfiguration, rpcURL: String?) {
        self.rpcURL = rpcURL
        network = configuration.network.rawValue
        chainId = configuration.chainID
        tokens = configuration.tokens.map {
            Token(symbol: $0.symbol, address: $0.address.checksummed, decimals: $0.decimals, eip712Name: $0.name, eip712Version: $0.version)
        }
        if configuration.network == .tempo {
            sessionEscrow = Dictionary(uniqueKeysWithValues: configuration.sessionEscrows.map { ($0.key.rawValue, $0.value.checksummed) })
        }
        let funded = Set(configuration.fundedAccounts)
        testKeys = zip(TestAccounts.privateKeyHex, TestAccounts.addresses).filter { funded.contains($0.1) }.map(\.0)
    }
}
