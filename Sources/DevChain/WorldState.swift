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
