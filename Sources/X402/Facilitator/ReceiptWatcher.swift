import EVM
import Logging

/// Waits for the receipts of many transactions with one poller (decision 0041): it reads the head
/// every poll interval and, for each new block, fetches the receipts of only the awaited
/// transactions the block holds, instead of one `eth_getTransactionReceipt` loop per transaction; the receipts
/// are asked for in JSON-RPC batches.
///
/// A transaction mined before it was awaited is found in the blocks seen recently; one not found
/// in any block for ``directCheckAfter`` (a block missed in a reorganization, a receipt the node
/// served late) is asked for directly, and again every ``directCheckAfter``.
actor ReceiptWatcher {
    private struct Waiter {
        var continuation: CheckedContinuation<Receipt?, Never>
        var deadline: ContinuousClock.Instant
        var nextDirectCheck: ContinuousClock.Instant
    }

    let rpc: EthereumRPC
    let pollInterval: Duration
    private let logger: Logger
    private var waiters: [Hash32: [Waiter]] = [:]
    /// Awaited transactions seen in a block whose receipt was not served yet.
    private var mined: Set<Hash32> = []
    /// The highest block scanned.
    private var scanned: UInt64?
    /// Transactions of the recently scanned blocks, and those blocks' numbers, oldest first.
    private var recent: [Hash32: UInt64] = [:]
    private var recentBlocks: [(number: UInt64, hashes: [Hash32])] = []
    private var polling = false
    static let recentBlockCount = 64
    static let directCheckAfter: Duration = .seconds(2)
    static let maxBatch = 256

    init(rpc: EthereumRPC, pollInterval: Duration, logger: Logger) {
        self.rpc = rpc
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// The receipt of `hash`, or nil when there is none by `deadline`.
    func receipt(_ hash: Hash32, until deadline: ContinuousClock.Instant) async -> Receipt? {
        let now = ContinuousClock.now
        if deadline <= now { return try? await rpc.transactionReceipt(hash) }
        return await withCheckedContinuation { continuation in
            waiters[hash, default: []].append(
                Waiter(continuation: continuation, deadline: deadline, nextDirectCheck: now + Self.directCheckAfter))
            if recent[hash] != nil { mined.insert(hash) }
            if !polling {
                polling = true
                Task { await self.poll() }
            }
        }
    }

    /// Awaited transactions.
    var awaited: Int { waiters.count }

    private func poll() async {
        defer { polling = false }
        while !waiters.isEmpty {
            try? await Task.sleep(for: pollInterval)
            await scan()
            await fetch()
            expire()
        }
    }

    /// Scans the blocks mined since the last scan for awaited transactions.
    private func scan() async {
        guard let head = try? await rpc.blockNumber() else { return }
        var from = (scanned ?? head.saturatingDecrement()) + 1
        if let scanned, head < scanned { from = head }  // the chain reorganized to a lower head
        guard from <= head else { return }
        // A long stall: the receipts of older blocks are asked for directly when due.
        from = max(from, head.saturatingSubtract(UInt64(Self.recentBlockCount)) + 1)
        for number in from...head {
            guard let block = try? await rpc.block(.number(number)) else { return }
            remember(number, block.transactionHashes)
            for hash in block.transactionHashes where waiters[hash] != nil { mined.insert(hash) }
            scanned = number
        }
    }

    private func remember(_ number: UInt64, _ hashes: [Hash32]) {
        if let last = recentBlocks.last, last.number >= number {
            // A reorganization replaced blocks already seen: forget them.
            while let dropped = recentBlocks.last, dropped.number >= number {
                recentBlocks.removeLast()
                for hash in dropped.hashes where recent[hash] == dropped.number { recent[hash] = nil }
            }
        }
        recentBlocks.append((number, hashes))
        for hash in hashes { recent[hash] = number }
        while recentBlocks.count > Self.recentBlockCount {
            let dropped = recentBlocks.removeFirst()
            for hash in dropped.hashes where recent[hash] == dropped.number { recent[hash] = nil }
        }
    }

    /// Fetches, in JSON-RPC batches, the receipts of the transactions seen mined and of those due
    /// for a direct check.
    private func fetch() async {
        let now = ContinuousClock.now
        var due = mined.filter { waiters[$0] != nil }
        for (hash, list) in waiters where list.contains(where: { $0.nextDirectCheck <= now }) {
            due.insert(hash)
            waiters[hash] = list.map {
                var w = $0; w.nextDirectCheck = now + Self.directCheckAfter; return w
            }
        }
        guard !due.isEmpty else { return }
        var found: [(Hash32, Receipt)] = []
        let hashes = Array(due)
        for start in stride(from: 0, to: hashes.count, by: Self.maxBatch) {
            let chunk = Array(hashes[start..<min(start + Self.maxBatch, hashes.count)])
            guard let answers = try? await rpc.transactionReceipts(chunk) else { continue }
            for (hash, answer) in zip(chunk, answers) {
                if case .success(let receipt?) = answer { found.append((hash, receipt)) }
            }
        }
        for (hash, receipt) in found {
            mined.remove(hash)
            for waiter in waiters.removeValue(forKey: hash) ?? [] { waiter.continuation.resume(returning: receipt) }
        }
    }

    private func expire() {
        let now = ContinuousClock.now
        for (hash, list) in waiters {
            let (late, waiting) = (list.filter { $0.deadline <= now }, list.filter { $0.deadline > now })
            guard !late.isEmpty else { continue }
            for waiter in late { waiter.continuation.resume(returning: nil) }
            if waiting.isEmpty {
                waiters[hash] = nil
                mined.remove(hash)
            } else {
                waiters[hash] = waiting
            }
        }
    }
}

extension UInt64 {
    fileprivate func saturatingDecrement() -> UInt64 { self == 0 ? 0 : self - 1 }
    fileprivate func saturatingSubtract(_ other: UInt64) -> UInt64 { self > other ? self - other : 0 }
}
