import EVM

/// The storage of one FiatToken-style (USDC v2.2) contract: ERC-20 balances and allowances plus
/// EIP-3009 authorization states.
struct TokenState: Sendable, Hashable {
    let configuration: TokenConfiguration
    let domain: TokenDomain
    var balances: [Address: UInt256] = [:]
    var allowances: [Address: [Address: UInt256]] = [:]
    /// `_authorizationStates[authorizer][nonce]`: used or canceled.
    var usedAuthorizations = AuthorizationStates()
    var totalSupply: UInt256 = .zero

    struct AuthorizationKey: Sendable, Hashable {
        var authorizer: Address
        var nonce: Hash32
    }

    /// The used authorizations in 256 shards. A transaction runs on a copy of the state (to undo it
    /// on revert) and every block's state is kept, so each write copies the set it changes: one set
    /// of every authorization ever used made each transaction cost as much as the chain's history
    /// (the most of a block of hundreds of x402 settlements, decision 0041); a shard is 1/256 of it.
    struct AuthorizationStates: Sendable, Hashable {
        private var shards = [Set<AuthorizationKey>](repeating: [], count: 256)

        func contains(_ key: AuthorizationKey) -> Bool { shards[Self.shard(key)].contains(key) }

        mutating func insert(_ key: AuthorizationKey) { shards[Self.shard(key)].insert(key) }

        private static func shard(_ key: AuthorizationKey) -> Int { Int(UInt(bitPattern: key.hashValue) % 256) }
    }

    init(configuration: TokenConfiguration, chainID: UInt64) {
        self.configuration = configuration
        self.domain = configuration.domain(chainID: chainID)
    }

    var address: Address { configuration.address }

    func balance(of owner: Address) -> UInt256 { balances[owner] ?? .zero }

    func allowance(owner: Address, spender: Address) -> UInt256 { allowances[owner]?[spender] ?? .zero }

    func isUsed(_ authorizer: Address, _ nonce: Hash32) -> Bool {
        usedAuthorizations.contains(AuthorizationKey(authorizer: authorizer, nonce: nonce))
    }

    /// Mints (the faucet and genesis); saturates rather than overflowing the total supply.
    mutating func mint(_ to: Address, _ amount: UInt256) {
        let (supply, overflow) = totalSupply.addingReportingOverflow(amount)
        let credited = overflow ? UInt256.max - totalSupply : amount
        totalSupply = overflow ? .max : supply
        balances[to] = balance(of: to) + credited
    }
}
