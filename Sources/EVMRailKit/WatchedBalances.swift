import EVM
import Foundation
import Ledger
import RailKit

/// What a rail's watched addresses hold of its tokens, the way the drift check needs it (decision
/// 0032): booked once as each wallet account's `opening` balance, and read at any past cut-off from
/// a node that keeps no old state. Shared by the rails of EVM chains, which book the same wallet
/// accounts (`…:wallet:{address}`) from token transfers.
public struct WatchedBalances: Sendable {
    /// A token the rail books, and its asset.
    public struct Token: Sendable, Hashable {
        public var address: EVM.Address
        public var asset: AssetID

        public init(address: EVM.Address, asset: AssetID) {
            self.address = address
            self.asset = asset
        }
    }

    let rpc: EthereumRPC
    let network: String
    let tokens: [Token]
    /// In the order of their lowercase hex, so that events and balances come out the same every time.
    let owners: [EVM.Address]
    let maxBlockRange: UInt64

    /// - Parameters:
    ///   - network: The CAIP-2 id, in references and error messages.
    ///   - maxBlockRange: The most blocks one `eth_getLogs` call spans.
    public init(rpc: EthereumRPC, network: String, tokens: [Token], owners: some Sequence<EVM.Address>, maxBlockRange: UInt64) {
        self.rpc = rpc
        self.network = network
        self.tokens = tokens
        self.owners = owners.sorted { $0.lowercased < $1.lowercased }
        self.maxBlockRange = maxBlockRange
    }

    /// The `opening` event of each watched address and token with a balance before `startBlock`:
    /// the wallet accounts then mirror what the chain holds, not only what arrived since. Its
    /// reference `network/opening/token/address` books it once however often it is produced;
    /// none when `startBlock` is past the head. Binds `address`, amount `amount`.
    public func openings(before startBlock: UInt64, head: UInt64) async throws(RailError) -> [RailEvent] {
        let through = startBlock == 0 ? nil : startBlock - 1
        guard (through ?? 0) <= head else { return [] }
        let block = try await chain { try await rpc.block(.number(through ?? 0)) }
        let time = Date(timeIntervalSince1970: TimeInterval(block?.timestamp ?? 0))
        return try await held(through: through, head: head).filter { !$0.amount.isZero }.map { token, owner, amount in
            RailEvent(
                transition: "opening", reference: "\(network)/opening/\(token.address.lowercased)/\(owner)", asset: token.asset,
                amounts: ["amount": amount], bindings: ["address": owner], occurredAt: time,
                metadata: ["block": through.map { .number(String($0)) } ?? .string("genesis")])
        }
    }

    /// ``openings(before:head:)`` for a rail's page, unless its cursor says they were produced:
    /// produced once the head reaches the block before `startBlock` (a rail configured ahead of
    /// the chain gets them when the chain catches up, not never), and for a cursor written before
    /// openings existed (`opened` absent). Their references book them once however often.
    public func openingsDue(_ opened: inout Bool?, before startBlock: UInt64, head: UInt64) async throws(RailError) -> [RailEvent] {
        guard opened != true, startBlock == 0 || startBlock - 1 <= head else { return [] }
        let events = try await openings(before: startBlock, head: head)
        opened = true
        return events
    }

    /// `balanceOf` each watched address held of each token once the last block before `date` was
    /// applied, binding `address`: the chain's side of the drift check against the wallet accounts.
    public func balances(at date: Date) async throws(RailError) -> [RailBalance] {
        let head = try await chain { try await rpc.blockNumber() }
        let first = try await firstBlock(atOrAfter: date, head: head)
        let through = first == 0 ? nil : min(first - 1, head)
        let source = "balanceOf at block \(through.map(String.init) ?? "genesis")"
        return try await held(through: through, head: head).map { token, owner, amount in
            RailBalance(asset: token.asset, amount: SignedAmount(amount), source: source, bindings: ["address": owner])
        }
    }

    /// The first block whose timestamp is at or after `date` (head + 1 when none is).
    public func firstBlock(atOrAfter date: Date, head: UInt64) async throws(RailError) -> UInt64 {
        let target = UInt64(max(0, date.timeIntervalSince1970.rounded(.up)))
        var low: UInt64 = 0
        var high = head + 1
        while low < high {
            let middle = low + (high - low) / 2
            let time = try await chain { try await rpc.block(.number(middle)) }?.timestamp ?? .max
            if time >= target { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// What each watched address (lowercase) held of each token once block `through` was applied
    /// (nil: before block 0), read from the state at `head`.
    private func held(through: UInt64?, head: UInt64) async throws(RailError) -> [(token: Token, owner: String, amount: Ledger.UInt256)] {
        let history = TokenBalanceHistory(rpc: rpc, network: network, maxBlockRange: maxBlockRange)
        var result: [(token: Token, owner: String, amount: Ledger.UInt256)] = []
        for token in tokens {
            let balances = try await history.balances(token: token.address, owners: owners, through: through, head: head)
            for owner in owners {
                guard let value = balances[owner], let amount = Ledger.UInt256(bigEndianBytes: value.bigEndianBytes) else { continue }
                result.append((token, owner.lowercased, amount))
            }
        }
        return result
    }

    private func chain<T>(_ body: () async throws -> T) async throws(RailError) -> T {
        do { return try await body() } catch { throw RailError(.transport, "\(network): \(error)") }
    }
}
