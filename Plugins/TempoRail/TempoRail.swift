import EVM
import EVMRailKit
import Foundation
import Ledger
import Logging
import RailKit

/// The Tempo rail: watches a Tempo chain for TIP-20 transfers to the merchant's addresses (charges,
/// with their memo) and for the session escrows' events on channels paying them (deposits,
/// settlements, top-ups, closes with refunds, forced closes and withdrawals), and books every fee
/// the merchant's addresses and its `sponsors` (fee-paying keys) paid, for their own transactions
/// or ones they co-signed, from the fee token's `Transfer` to the FeeManager (decision 0035).
/// Tempo is final on inclusion (deterministic finality): everything is posted at once, nothing
/// is held.
///
/// Each of those addresses' wallet accounts mirrors its token balances: opened on the first page
/// with what it held before `start_block`, and compared by the drift check with `balances(at:)`.
///
/// Settings: `rpc_url`, `network` (`eip155:<chain id>`), `tokens`
/// (`"<asset id>=<token address>=<symbol>"`, TIP-20s have 6 decimals), `addresses` (the merchant's),
/// `escrows` (`"v1=<address>"`, `"v2=<address>"`; default the dev chain's two), `sponsors`
/// (fee payers besides `addresses` whose fees are booked), `start_block` (default 0),
/// `max_block_range` (default 2,000), `timeout_ms`.
public struct TempoRail: Rail {
    public let descriptor: RailDescriptor
    let rpc: EthereumRPC
    let network: String
    let tokens: [EVM.Address: AssetID]
    let addresses: Set<EVM.Address>
    let escrows: [EVM.Address: TempoChannelEscrow]
    /// Whose fees are booked and whose balances are checked: the watched addresses (a payee
    /// settling its channels pays the fee) and the sponsors. Every fee leaves their balance, so
    /// their wallet accounts mirror the chain only if all are booked, whatever the transaction did
    /// or whether it reverted.
    let feePayers: Set<EVM.Address>
    let startBlock: UInt64
    let maxBlockRange: UInt64
    let watched: WatchedBalances

    public init(configuration: RailConfiguration, logger: Logger) throws(RailError) {
        let id = configuration.id
        func fail(_ message: String) -> RailError { RailError(.invalidConfiguration, "rail \(id): \(message)") }
        network = try configuration.eip155Network()
        let url = try configuration.httpURL("rpc_url")
        let timeout = try configuration.int("timeout_ms", default: 10_000, in: 100...600_000)
        rpc = EthereumRPC(url: url, configuration: .init(timeout: .milliseconds(timeout)), logger: logger)
        var assets: [Asset] = []
        var tokens: [EVM.Address: AssetID] = [:]
        for spec in try configuration.strings("tokens") ?? [] {
            let parts = spec.split(separator: "=").map(String.init)
            guard parts.count == 3, let address = try? EVM.Address(parts[1]), let asset = try? AssetID(parts[0]) else {
                throw fail("tokens entries are \"<asset id>=<TIP-20 address>=<symbol>\", got \(spec)")
            }
            tokens[address] = asset
            assets.append(Asset(id: asset, code: parts[2], scale: 6, rail: "tempo", network: network, token: address.lowercased))
        }
        guard !tokens.isEmpty else { throw fail("tokens must name at least one TIP-20") }
        func addressList(_ key: String) throws(RailError) -> Set<EVM.Address> { try configuration.list(key) { try? EVM.Address($0) } }
        addresses = try addressList("addresses")
        guard !addresses.isEmpty else { throw fail("addresses must name at least one watched address") }
        feePayers = addresses.union(try addressList("sponsors"))
        var escrows: [EVM.Address: TempoChannelEscrow] = [:]
        let escrowSpecs =
            try configuration.strings("escrows") ?? [
                "v1=\(TempoChannelEscrow.v1ModeratoAddress.checksummed)", "v2=\(TempoChannelEscrow.v2Address.checksummed)",
            ]
        for spec in escrowSpecs {
            let parts = spec.split(separator: "=").map(String.init)
            guard parts.count == 2, let version = TempoChannelEscrow(rawValue: parts[0]), let address = try? EVM.Address(parts[1]) else {
                throw fail("escrows entries are \"v1=<address>\" or \"v2=<address>\", got \(spec)")
            }
            escrows[address] = version
        }
        self.escrows = escrows
        startBlock = UInt64(try configuration.int("start_block", default: 0, in: 0...Int.max))
        maxBlockRange = UInt64(try configuration.int("max_block_range", default: 2_000, in: 1...100_000))
        self.tokens = tokens
        watched = WatchedBalances(
            rpc: rpc, network: network,
            tokens: tokens.map { WatchedBalances.Token(address: $0.key, asset: $0.value) }.sorted {
                $0.address.lowercased < $1.address.lowercased
            },
            owners: feePayers, maxBlockRange: maxBlockRange)
        descriptor = RailDescriptor(
            id: id, kind: "tempo",
            summary: "TIP-20 charges and MPP session channels paying \(addresses.count) address(es) on \(network), final on inclusion",
            assets: assets, capabilities: [.pull, .statements], fundFlow: TempoFundFlow.flow)
    }

    /// The registry factory for rails of kind `tempo`.
    public static let factory: RailRegistry.Factory = { configuration, logger throws(RailError) in
        try TempoRail(configuration: configuration, logger: logger)
    }

    // MARK: - Ingest

    public func fetchNext(cursor: String?, pageSize: Int) async throws(RailError) -> RailPage {
        var state = try TempoCursor(decoding: cursor) ?? TempoCursor(scanned: startBlock == 0 ? nil : startBlock - 1)
        let head = try await chain { try await rpc.blockNumber() }
        // What the watched addresses held before the start block, once the chain has reached it.
        var events = try await watched.openingsDue(&state.opened, before: startBlock, head: head)
        let from = state.scanned.map { $0 + 1 } ?? startBlock
        let to = min(head, from + maxBlockRange - 1)
        guard from <= to else { return RailPage(events: events, nextCursor: try state.encoded(), hasMore: false) }
        events += try await scan(from: from, to: to, state: &state)
        state.scanned = to
        return RailPage(events: events, nextCursor: try state.encoded(), hasMore: to < head)
    }

    /// The chain's own record of what moved in `[from, to)`: the same movements the events book
    /// (same references). A close's paid part depends on what the channel settled before, so the
    /// chain is read from `start_block`, and the window's movements kept.
    public func statement(from: Date, to: Date, cursor: String?, pageSize: Int) async throws(RailError) -> StatementPage {
        let head = try await chain { try await rpc.blockNumber() }
        var state = TempoCursor(scanned: nil)
        var records: [StatementRecord] = []
        var start = startBlock
        while start <= head {
            let end = min(head, start + maxBlockRange - 1)
            for event in try await scan(from: start, to: end, state: &state) where event.occurredAt >= from && event.occurredAt < to {
                var details = event.bindings
                for (key, value) in event.metadata { if case .string(let text) = value { details[key] = text } }
                records.append(
                    StatementRecord(
                        reference: event.reference, type: event.transition,
                        direction: event.transition == "charge" || event.transition == "settlement" ? .inbound : .outbound,
                        asset: event.asset,
                        amount: event.amounts["amount"] ?? 0, status: "final", occurredAt: event.occurredAt, details: details))
            }
            start = end + 1
        }
        return StatementPage(records: records, nextCursor: nil, hasMore: false)
    }

    /// The events of blocks `from...to`, updating the open channels in `state`.
    private func scan(from: UInt64, to: UInt64, state: inout TempoCursor) async throws(RailError) -> [RailEvent] {
        let recipients = addresses.map(\.word)
        let tokenLogs = try await chain {
            try await rpc.logs(
                LogFilter(
                    fromBlock: .number(from), toBlock: .number(to), addresses: Array(tokens.keys),
                    topics: [[TransferEvent.topic, TransferWithMemoEvent.topic], nil, recipients]))
        }
        // Fees: the fee token's Transfer from the payer to the FeeManager, the transaction's last log.
        let feeLogs = try await chain {
            try await rpc.logs(
                LogFilter(
                    fromBlock: .number(from), toBlock: .number(to), addresses: Array(tokens.keys),
                    topics: [[TransferEvent.topic], feePayers.map(\.word), [TempoAddresses.feeManager.word]]))
        }
        let escrowTopics = Array(Set(escrows.values)).flatMap { version in TempoChannelEvent.allCases.map { version.topic(of: $0) } }
        let escrowLogs = try await chain {
            try await rpc.logs(
                LogFilter(
                    fromBlock: .number(from), toBlock: .number(to), addresses: Array(escrows.keys),
                    topics: [escrowTopics, nil, nil, recipients]))
        }
        let logs = (tokenLogs + escrowLogs + feeLogs).filter { !$0.removed }.sorted {
            ($0.blockNumber ?? 0, $0.logIndex ?? 0) < ($1.blockNumber ?? 0, $1.logIndex ?? 0)
        }
        let companions = memoCompanions(tokenLogs)
        var times: [UInt64: Date] = [:]
        var events: [RailEvent] = []
        for log in logs {
            guard let block = log.blockNumber, let tx = log.transactionHash, let index = log.logIndex else { continue }
            let time = try await blockTime(block, &times)
            let reference = "\(network)/\(tx.hex)/\(index)"
            if let asset = tokens[log.address] {
                if let fee = fee(log, asset: asset, time: time) {
                    events.append(fee)
                } else if let charge = charge(log, asset: asset, reference: reference, time: time, companions: companions) {
                    events.append(charge)
                }
            } else if let version = escrows[log.address] {
                events += try channelEvents(log, version: version, reference: reference, time: time, state: &state)
            }
        }
        return events
    }

    /// A charge: a Transfer (or TransferWithMemo) to a watched address that is not an escrow paying
    /// out a channel. TIP-20 emits both events for a transfer with a memo; the memo one is kept.
    private func charge(_ log: Log, asset: AssetID, reference: String, time: Date, companions: Set<String>) -> RailEvent? {
        var memo: Hash32?
        let from: EVM.Address
        let to: EVM.Address
        let amount: EVM.UInt256
        if let event = try? TransferWithMemoEvent(log: log) {
            (memo, from, to, amount) = (event.memo, event.from, event.to, event.amount)
        } else if let event = try? TransferEvent(log: log), !companions.contains(reference) {
            (from, to, amount) = (event.from, event.to, event.value)
        } else {
            return nil
        }
        guard escrows[from] == nil, addresses.contains(to), let value = Ledger.UInt256(bigEndianBytes: amount.bigEndianBytes), !value.isZero
        else { return nil }
        var metadata: Metadata = ["transaction": .string(log.transactionHash?.hex ?? ""), "from": .string(from.lowercased)]
        if let memo { metadata["memo"] = .string(memo.hex) }
        return RailEvent(
            transition: "charge", reference: reference, parentReference: memo?.hex, asset: asset, amounts: ["amount": value],
            bindings: ["address": to.lowercased], occurredAt: time, metadata: metadata)
    }

    /// References of Transfer logs that have a TransferWithMemo for the same movement right after them.
    private func memoCompanions(_ logs: [Log]) -> Set<String> {
        var result = Set<String>()
        for log in logs {
            guard let memo = try? TransferWithMemoEvent(log: log), let tx = log.transactionHash, let index = log.logIndex, index > 0,
                let previous = logs.first(where: { $0.transactionHash == tx && $0.logIndex == index - 1 }),
                let transfer = try? TransferEvent(log: previous), transfer.from == memo.from, transfer.to == memo.to,
                transfer.value == memo.amount
            else { continue }
            result.insert("\(network)/\(tx.hex)/\(index - 1)")
        }
        return result
    }

    /// The bookings of one escrow event on a channel that pays a watched address.
    private func channelEvents(
        _ log: Log, version: TempoChannelEscrow, reference: String, time: Date, state: inout TempoCursor
    ) throws(RailError) -> [RailEvent] {
        guard log.topics.count == 4, let kind = version.event(forTopic: log.topics[0]) else { return [] }
        let id = log.topics[1].hex
        let payer = Self.address(log.topics[2])
        let payee = Self.address(log.topics[3])
        let words = stride(from: 0, to: log.data.count, by: 32).compactMap { start -> Ledger.UInt256? in
            Ledger.UInt256(bigEndianBytes: log.data[start..<min(start + 32, log.data.count)])
        }
        func event(_ transition: String, _ suffix: String, _ amount: Ledger.UInt256, _ asset: AssetID) -> RailEvent {
            RailEvent(
                transition: transition, reference: reference + suffix, parentReference: "\(network)/channel/\(id)", asset: asset,
                amounts: ["amount": amount], bindings: ["address": payee, "payer": payer, "channel": id], occurredAt: time,
                metadata: ["transaction": .string(log.transactionHash?.hex ?? ""), "escrow": .string(version.rawValue)])
        }
        switch kind {
        case .channelOpened:
            // v1 data: token, authorizedSigner, deposit; v2: operator, token, authorizedSigner, salt, nonce hash, deposit.
            let tokenWord = version == .v1 ? 0 : 1
            let start = tokenWord * 32 + 12
            guard words.count >= tokenWord + 2, let token = try? EVM.Address(bytes: log.data[start..<start + 20]),
                let asset = tokens[token],
                let deposit = words.last
            else { return [] }
            state.channels[id] = TempoCursor.Channel(asset: asset, settled: 0)
            return deposit.isZero ? [] : [event("deposit", "", deposit, asset)]
        case .topUp:
            guard let channel = state.channels[id], let amount = words.first, !amount.isZero else { return [] }
            return [event("deposit", "", amount, channel.asset)]
        case .settled:
            guard var channel = state.channels[id], words.count == 3 else { return [] }
            let delta = words[1]
            channel.settled = channel.settled.adding(delta) ?? channel.settled
            state.channels[id] = channel
            return delta.isZero ? [] : [event("settlement", "", delta, channel.asset)]
        case .channelClosed:
            guard let channel = state.channels[id], words.count == 2 else { return [] }
            state.channels[id] = nil
            var result: [RailEvent] = []
            // A close pays the part above what was settled without a Settled event.
            if let delta = words[0].subtracting(channel.settled), !delta.isZero {
                result.append(event("settlement", "/close", delta, channel.asset))
            }
            if !words[1].isZero { result.append(event("refund", "", words[1], channel.asset)) }
            return result
        case .closeRequested, .closeRequestCancelled:
            return []  // no money moves.
        }
    }

    /// A fee a watched address or sponsor paid: the `Transfer` to the FeeManager that the fee token
    /// emits once the transaction ran, of the amount actually charged. Its reference is the
    /// transaction's (`…/fee`), since a transaction pays one fee.
    private func fee(_ log: Log, asset: AssetID, time: Date) -> RailEvent? {
        guard let event = try? TransferEvent(log: log), event.to == TempoAddresses.feeManager, feePayers.contains(event.from),
            let tx = log.transactionHash, let amount = Ledger.UInt256(bigEndianBytes: event.value.bigEndianBytes), !amount.isZero
        else { return nil }
        return RailEvent(
            transition: "fee", reference: "\(network)/\(tx.hex)/fee", asset: asset, amounts: ["amount": amount],
            bindings: ["address": event.from.lowercased], occurredAt: time, metadata: ["transaction": .string(tx.hex)])
    }

    // MARK: - Reconciliation

    /// `balanceOf` each watched address and sponsor held of each token once the last block before
    /// `at` was applied: the chain's side of the drift check against their wallet accounts. The
    /// fee `Transfer` logs make the logs since then explain the whole difference from the head.
    public func balances(at: Date) async throws(RailError) -> [RailBalance] {
        try await watched.balances(at: at)
    }

    private static func address(_ topic: Hash32) -> String { Hex.encode(topic.bytes.suffix(20)) }

    private func blockTime(_ number: UInt64, _ cache: inout [UInt64: Date]) async throws(RailError) -> Date {
        if let known = cache[number] { return known }
        let block = try await chain { try await rpc.block(.number(number)) }
        let time = Date(timeIntervalSince1970: TimeInterval(block?.timestamp ?? 0))
        cache[number] = time
        return time
    }

    private func chain<T>(_ body: () async throws -> T) async throws(RailError) -> T {
        do { return try await body() } catch { throw RailError(.transport, "\(network): \(error)") }
    }
}
