/// Which chain a ``DevChain`` imitates.
public enum DevChainNetwork: String, Sendable, Hashable, CaseIterable {
    /// An Ethereum chain with ether, EIP-1559 and legacy transactions and FiatToken-style ERC-20s.
    case ethereum
    /// A Tempo chain: no native token, TIP-20 stablecoins as precompiles, type `0x76` transactions
    /// (batched calls, 2D and expiring nonces, validity windows, fees paid in a TIP-20 token, fee
    /// sponsorship) and deterministic finality (no reorg fault).
    case tempo
}
