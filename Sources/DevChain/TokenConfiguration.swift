import EVM

/// A token deployed on the dev chain from its genesis: an EIP-3009 FiatToken (v2.2 semantics) or,
/// on the Tempo network, a TIP-20 stablecoin precompile.
public struct TokenConfiguration: Sendable, Hashable {
    /// The contract's behaviour.
    public enum Standard: Sendable, Hashable {
        /// FiatToken v2.2: ERC-20 with `require` strings and EIP-3009 authorizations.
        case fiatToken
        /// Tempo's TIP-20: ERC-20 with memos (`transferWithMemo`, `transferFromWithMemo`), `currency()`
        /// and custom errors (`InsufficientBalance(uint256,uint256,address)`…).
        case tip20(currency: String)
    }

    public var standard: Standard
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
        initialBalance: UInt256 = 1_000_000_000_000, standard: Standard = .fiatToken
    ) {
        self.standard = standard
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

    /// Whether the token is a TIP-20.
    public var isTIP20: Bool { if case .tip20 = standard { true } else { false } }

    /// Tempo's pathUSD: the first TIP-20 (`0x20c0…0000`), the default fee token, 1,000,000 per funded account.
    public static let pathUSD = TokenConfiguration(
        address: try! Address("0x20c0000000000000000000000000000000000000"), name: "pathUSD", symbol: "pathUSD", version: "1",
        standard: .tip20(currency: "USD"))

    /// Tempo's testnet AlphaUSD (`0x20c0…0001`).
    public static let alphaUSD = TokenConfiguration(
        address: try! Address("0x20c0000000000000000000000000000000000001"), name: "AlphaUSD", symbol: "AlphaUSD", version: "1",
        standard: .tip20(currency: "USD"))
}
