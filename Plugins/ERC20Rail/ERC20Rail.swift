import EVM
import EVMRailKit
import Foundation
import Ledger
import Logging
import RailKit

/// The ERC-20 rail: watches the chain for token transfers to the merchant's addresses and books
/// them seen → final (held until `confirmations` blocks deep), or voided when a reorganization
/// removes their block first. Gas spent by watched payers (the x402 facilitator) is booked in the
/// chain's native asset once final.
///
/// Settings: `rpc_url`, `network` (CAIP-2, `eip155:<chain id>`), `tokens` (a list of
/// `"<asset id>=<token address>=<symbol>=<decimals>"`), `addresses` (watched recipients),
/// `confirmations` (default 12), `start_block` (default 0), `max_block_range` (blocks per page,
/// default 2,000), `payers` (addresses whose gas is booked), `native_asset`
/// (`"<asset id>=<symbol>=<decimals>"`, needed for gas), `timeout_ms`.
///
/// The cursor is the rail's own JSON: the last block scanned, and the logs seen but not final
/// with the hash of their block, so that a restart resumes exactly where the last committed page
/// ended and a reorg is detected by comparing block hashes.
public struct ERC20Rail: Rail {
    typealias Token = WatchedBalances.Token

    public let descriptor: RailDescriptor
    let rpc: EthereumRPC
    let network: String
    let tokens: [Token]
    let addresses: Set<EVM.Address>
    let payers: Set<EVM.Address>
    let nativeAsset: AssetID?
    let confirmations: UInt64
    let startBlock: UInt64
    let maxBlockRange: UInt64
    let watched: WatchedBalances
    let logger: Logger

    public init(configuration: RailConfiguration, logger: Logger) throws(RailError) {
        let id = configuration.id
        func fail(_ message: String) -> RailError { RailError(.invalidConfiguration, "rail \(id): \(message)") }
        network = try configuration.eip155Network()
        let url = try configuration.httpURL("rpc_url")
        let timeout = try configuration.int("timeout_ms", default: 10_000, in: 100...600_000)
        rpc = EthereumRPC(url: url, configuration: .init(timeout: .milliseconds(timeout)), logger: logger)
        var assets: [Asset] = []
        var tokens: [Token] = []
        for spec in try configuration.strings("tokens") ?? [] {
            let parts = spec.split(separator: "=").map(String.init)
            guard parts.count == 4, let decimals = Int(parts[3]), (0...77).contains(decimals) else {
                throw fail("tokens entries are \"<asset id>=<token address>=<symbol>=<decimals>\", got \(spec)")
            }
            let address: EVM.Address
            let asset: AssetID
            do {
                address = try EVM.Address(parts[1])
                asset = try AssetID(parts[0])
            } catch { throw fail("token \(spec): \(error)") }
            tokens.append(Token(address: address, asset: asset))
            assets.append(Asset(id: asset, code: parts[2], scale: decimals, rail: "erc20", network: network, token: address.lowercased))
        }
        guard !tokens.isEmpty else { throw fail("tokens must name at least one token") }
        func addressList(_ key: String) throws(RailError) -> Set<EVM.Address> { try configuration.list(key) { try? EVM.Address($0) } }
        addresses = try addressList("addresses")
        guard !addresses.isEmpty else { throw fail("addresses must name at least one watched address") }
        payers = try addressList("payers")
        if let spec = try configuration.optionalString("native_asset") {
            let parts = spec.split(separator: "=").map(String.init)
            guard parts.count == 3, let decimals = Int(parts[2]), let asset = try? AssetID(parts[0]) else {
                throw fail("native_asset is \"<asset id>=<symbol>=<decimals>\", got \(spec)")
            }
            nativeAsset = asset
            assets.append(Asset(id: asset, code: parts[1], scale: decimals, rail: "erc20", network: network))
        } else {
            guard payers.isEmpty else { throw fail("payers need native_asset to book their gas") }
            nativeAsset = nil
        }
        confirmations = UInt64(try configuration.int("confirmations", default: 12, in: 1...10_000))
        startBlock = UInt64(try configuration.int("start_block", default: 0, in: 0...Int.max))
        maxBlockRange = UInt64(try configuration.int("max_block_range", default: 2_000, in: 1...100_000))
        self.tokens = tokens
        watched = WatchedBalances(rpc: rpc, network: network, tokens: tokens, owners: addresses, maxBlockRange: maxBlockRange)
        self.logger = logger
        descriptor = RailDescriptor(
            id: id, kind: "erc20",
            summary: "ERC-20 transfers to \(addresses.count) address(es) on \(network), final after \(confirmations) blocks",
            assets: assets, capabilities: [.pull, .statements], fundFlow: ERC20FundFlow.flow)
    }

    /// The registry factory for rails of kind `erc20`.
    public static let factory: RailRegistry.Factory = { configuration, logger throws(RailError) in
        try ERC20Rail(configuration: configuration, logger: logger)
    }

    // MARK: - Ingest

    public func fetchNext(cursor: String?, pageSize: Int) async throws(RailError) -> RailPage {
        var state =
            try ChainCursor(decoding: cursor) ?? ChainCursor(scanned: startBlock == 0 ? nil : startBlock - 1, pending: [], recent: [])
        let head = try await chain { try await rpc.blockNumber() }
        var blocks = BlockCache(rpc: rpc)
        // 0. Where the watched addresses stood before the start block, once the chain has reached it.
        var events = try await watched.openingsDue(&state.opened, before: startBlock, head: head)

        // 1. What was seen: still canonical and deep enough (final), or gone (reorged).
        var pending: [ChainCursor.Seen] = []
        var finalTransactions: [(hash: String, block: UInt64)] = []
        for seen in state.pending {
            let canonical = head >= seen.block ? try await blocks.block(seen.block)?.hash.hex : nil
            if canonical != seen.blockHash {
                events.append(seen.event("reorged"))
            } else if head - seen.block + 1 >= confirmations {
                events.append(seen.event("confirmed"))
                state.recent.append(seen.reference)
                if !finalTransactions.contains(where: { $0.hash == seen.transaction }) {
                    finalTransactions.append((seen.transaction, seen.block))
                }
            } else {
                pending.append(seen)
            }
        }
        // 2. New logs. The last `confirmations` blocks are scanned again, so that a log re-mined
        //    in a replacement block after a reorg is seen; logs already taken are skipped.
        let nextStart = state.scanned.map { $0 + 1 } ?? startBlock
        let from = max(startBlock, nextStart >= confirmations ? nextStart - confirmations : 0)
        let to = min(head, nextStart + maxBlockRange - 1)
        if from <= to {
            let known = Set(pending.map(\.reference)).union(state.recent)
            for (log, outbound) in try await transferLogs(from: from, to: to) {
                guard let seen = try await seen(log, outbound: outbound, blocks: &blocks), !known.contains(seen.reference) else {
                    continue
                }
                if head - seen.block + 1 >= confirmations {
                    // Already deep when first seen: held and posted in the same page.
                    events.append(seen.event("seen"))
                    events.append(seen.event("confirmed"))
                    state.recent.append(seen.reference)
                    if !finalTransactions.contains(where: { $0.hash == seen.transaction }) {
                        finalTransactions.append((seen.transaction, seen.block))
                    }
                } else {
                    events.append(seen.event("seen"))
                    pending.append(seen)
                }
            }
            state.scanned = to
        }
        // 3. Gas of the transactions made final above (pending ones that got deep enough, and new
        //    logs already deep when first seen) that a watched payer sent.
        if let nativeAsset, !payers.isEmpty {
            for (hash, block) in finalTransactions {
                guard let receipt = try await chain({ try await rpc.transactionReceipt(try Hash32(hex: hash)) }),
                    payers.contains(receipt.from),
                    let price = receipt.effectiveGasPrice
                else { continue }
                let (gas, overflow) = price.multipliedReportingOverflow(by: receipt.gasUsed)
                guard !overflow, let amount = Ledger.UInt256(bigEndianBytes: gas.bigEndianBytes) else { continue }
                let time = try await blocks.block(block)?.timestamp ?? 0
                events.append(
                    RailEvent(
                        transition: "gas", reference: "\(network)/\(hash)", asset: nativeAsset, amounts: ["amount": amount],
                        bindings: ["address": receipt.from.lowercased], occurredAt: Date(timeIntervalSince1970: TimeInterval(time))))
            }
        }
        state.pending = pending
        // Only references a rescan can still meet need remembering: a bounded tail is plenty.
        state.recent = Array(state.recent.suffix(10_000))
        return RailPage(events: events, nextCursor: try state.encoded(), hasMore: (state.scanned ?? 0) < head)
    }

    public func statement(from: Date, to: Date, cursor: String?, pageSize: Int) async throws(RailError) -> StatementPage {
        let head = try await chain { try await rpc.blockNumber() }
        var blocks = BlockCache(rpc: rpc)
        let first = try await watched.firstBlock(atOrAfter: from, head: head)
        let end = try await watched.firstBlock(atOrAfter: to, head: head)
        let start = cursor.flatMap(UInt64.init) ?? first
        guard start < end else { return StatementPage(records: [], nextCursor: nil, hasMore: false) }
        let last = min(end - 1, start + maxBlockRange - 1)
        var records: [StatementRecord] = []
        for (log, outbound) in try await transferLogs(from: start, to: last) {
            guard let seen = try await seen(log, outbound: outbound, blocks: &blocks) else { continue }
            records.append(
                StatementRecord(
                    reference: seen.reference, type: "transfer", direction: outbound ? .outbound : .inbound, asset: seen.asset,
                    amount: seen.amount, status: head - seen.block + 1 >= confirmations ? "final" : "pending", occurredAt: seen.date,
                    details: [
                        "transaction": seen.transaction, "block": String(seen.block), "from": outbound ? seen.address : seen.sender,
                        "to": outbound ? seen.sender : seen.address,
                    ]))
        }
        return StatementPage(records: records, nextCursor: last + 1 < end ? String(last + 1) : nil, hasMore: last + 1 < end)
    }

    // MARK: - Reconciliation

    /// `balanceOf` each watched address held once the last block before `at` was applied, per
    /// token: the chain's side of the reconciler's drift check against the wallet accounts.
    public func balances(at: Date) async throws(RailError) -> [RailBalance] {
        try await watched.balances(at: at)
    }

    /// The Transfer logs of the configured tokens to a watched address, then from one (`outbound`),
    /// in chain order. A transfer between two watched addresses is both: it arrives at one and
    /// leaves the other.
    private func transferLogs(from: UInt64, to: UInt64) async throws(RailError) -> [(log: Log, outbound: Bool)] {
        let watched = addresses.map { $0.word }
        var logs: [(log: Log, outbound: Bool)] = []
        for (outbound, topics) in [(false, [[TransferEvent.topic], nil, watched]), (true, [[TransferEvent.topic], watched])]
            as [(Bool, [[Hash32]?])]
        {
            let filter = LogFilter(fromBlock: .number(from), toBlock: .number(to), addresses: tokens.map(\.address), topics: topics)
            for log in try await chain({ try await rpc.logs(filter) }) where !log.removed { logs.append((log, outbound)) }
        }
        return logs.sorted { ($0.log.blockNumber ?? 0, $0.log.logIndex ?? 0) < ($1.log.blockNumber ?? 0, $1.log.logIndex ?? 0) }
    }

    /// A Transfer log of a configured token to a watched address (from one, `outbound`), with its
    /// block's hash and time. An outbound one's reference ends in `/out`: a transfer between two
    /// watched addresses is booked once for each.
    private func seen(_ log: Log, outbound: Bool, blocks: inout BlockCache) async throws(RailError) -> ChainCursor.Seen? {
        guard let token = tokens.first(where: { $0.address == log.address }), let event = try? TransferEvent(log: log),
            addresses.contains(outbound ? event.from : event.to), let number = log.blockNumber, let blockHash = log.blockHash,
            let tx = log.transactionHash, let index = log.logIndex, let amount = Ledger.UInt256(bigEndianBytes: event.value.bigEndianBytes),
            !amount.isZero
        else { return nil }
        let time = try await blocks.block(number)?.timestamp ?? 0
        let (watched, other) = outbound ? (event.from, event.to) : (event.to, event.from)
        return ChainCursor.Seen(
            reference: "\(network)/\(tx.hex)/\(index)/\(blockHash.hex)" + (outbound ? "/out" : ""), asset: token.asset,
            address: watched.lowercased, sender: other.lowercased, amount: amount, block: number, blockHash: blockHash.hex,
            transaction: tx.hex, time: time, outbound: outbound ? true : nil)
    }

    private func chain<T>(_ body: () async throws -> T) async throws(RailError) -> T {
        do { return try await body() } catch { throw RailError(.transport, "\(network): \(error)") }
    }
}

/// Blocks fetched once per page.
struct BlockCache {
    let rpc: EthereumRPC
    private var blocks: [UInt64: Block?] = [:]

    init(rpc: EthereumRPC) { self.rpc = rpc }

    mutating func block(_ number: UInt64) async throws(RailError) -> Block? {
        if let cached = blocks[number] { return cached }
        let block: Block?
        do { block = try await rpc.block(.number(number)) } catch { throw RailError(.transport, "block \(number): \(error)") }
        blocks[number] = block
        return block
    }
}
