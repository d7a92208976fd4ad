import EVM

/// An EIP-3009 token (FiatToken v2.2 semantics) deployed on the dev chain from its genesis.
public struct TokenConfiguration: Sendable, Hashable {
    /// The contract address.
    public var address: Address
    /// The ERC-20 `name`, which is also the EIP-712 domain name (`USD Coin` for mainnet-style USDC).
    public var name: String
    public var symbol: String
    public var decimals: UInt8
    /// The EIP-712 domain version (`2` for USDC).
    public var version: String
    /// Atomic units minted at genesis to each funded account.
    public var initialBalance: UInt256

    public init(
        address: Address, name: String, symbol: String, decimals: UInt8 = 6, version: String = "2",
        initialBalance: UInt256 = 1_000_000_000_000
    ) {
        self.address = address
        self.name = name
        self.symbol = symbol
        self.decimals = decimals
        self.version = version
        self.initialBalance = initialBalance
    }

    /// The default token: `USD Coin`/`USDC`, 6 decimals, version `2`, at
    /// `0x5FbDB2315678afecb367f032d93F642f64180aa3` (the first contract anvil's key #0 deploys), with
    /// 1,000,000 USDC per funded account.
    public static let usdc = TokenConfiguration(
        address: try! Address("0x5FbDB2315678afecb367f032d93F642f64180aa3"), name: "USD Coin", symbol: "USDC")

    /// The token's EIP-712 domain on a chain.
    public func domain(chainID: UInt64) -> TokenDomain {
        TokenDomain(name: name, version: version, chainID: UInt256(chainID), verifyingContract: address)
    }
}
