import EVM

/// An externally owned account: native balance and nonce.
struct AccountState: Sendable, Hashable {
    var balance: UInt256 = .zero
    var nonce: UInt64 = 0
}

/// The whole state of the chain after some block: accounts and token contracts.
///
/// A value type: copies are cheap until written (copy-on-write dictionaries), so the chain keeps
/// one per recent block for historical reads and reorgs.
struct WorldState: Sendable, Hashable {
    var accounts: [Address: AccountState] = [:]
    var tokens: [Address: TokenState] = [:]
    /// Tempo's 2D nonces: the nonce of each account's lanes other than 0 (lane 0 is ``AccountState/nonce``).
    var nonceLanes: [NonceLane: UInt64] = [:]
    /// Tempo's expiring nonces: each used expiring-nonce hash and its `valid_before`, after which it
    /// can be forgotten (the transaction could not be included any more anyway).
    var expiringNonces: [Hash32: UInt64] = [:]
    /// Tempo's MPP session escrows, by address.
    var escrows: [Address: ChannelEscrowState] = [:]
    /// x402's batch-settlement contract (with its ERC-3009 deposit collector and Multicall3), on
    /// Ethereum-like networks.
    var batchSettlement: BatchSettlementState?
    /// Permit2 (with x402's upto proxy beside it), on Ethereum-like networks.
    var permit2: Permit2State?

    struct NonceLane: Sendable, Hashable {
        var account: Address
        var key: UInt256
    }

    /// The next nonce of a lane.
    func nonce(of address: Address, key: UInt256) -> UInt64 {
        key.isZero ? nonce(of: address) : nonceLanes[NonceLane(account: address, key: key)] ?? 0
    }

    mutating func incrementNonce(of address: Address, key: UInt256) {
        if key.isZero {
            accounts[address, default: AccountState()].nonce += 1
        } else {
            nonceLanes[NonceLane(account: address, key: key), default: 0] += 1
        }
    }

    func balance(of address: Address) -> UInt256 { accounts[address]?.balance ?? .zero }
    func nonce(of address: Address) -> UInt64 { accounts[address]?.nonce ?? 0 }

    /// Adds wei, saturating at 2^256 - 1 (only a faucet can get near it).
    mutating func credit(_ address: Address, _ amount: UInt256) {
        let (sum, overflow) = balance(of: address).addingReportingOverflow(amount)
        accounts[address, default: AccountState()].balance = overflow ? .max : sum
    }

    /// Removes wei; the caller has checked the balance.
    mutating func debit(_ address: Address, _ amount: UInt256) {
        accounts[address, default: AccountState()].balance = balance(of: address) - amount
    }
}
