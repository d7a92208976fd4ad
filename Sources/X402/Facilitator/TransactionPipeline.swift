import EVM
import Logging

/// The transactions of one sender account, pipelined (issue 16 item 5, decision 0041): nonces are
/// handed out at once and many signed transactions are in flight, several per block, instead of
/// one at a time up to the node's answer.
///
/// A caller ``reserve()``s a nonce, signs its transaction, stores it, and ``submit(_:raw:)``s it,
/// or ``abandon(_:)``s the nonce when it could not store it. One flusher sends the submitted
/// transactions to the node in nonce order (a node refuses or parks a nonce above the account's
/// next one), so a slow store of one transaction holds back only those after it.
///
/// No gap stays in the sender's nonces: an abandoned nonce, or one whose transaction the node
/// refuses, is filled with a zero-value transfer to the sender itself; when the node's pending
/// nonce is below the lowest one not yet sent (it lost transactions it had accepted), the nonces
/// between are filled as well. A stored transaction whose nonce a filler took is never mined; its
/// settlement signs a replacement when it is resumed (the authorization is still unused). The
/// pipeline never re-signs a stored transaction itself: that raw transaction may already be in a
/// node's pool, and its row must keep naming the one that can be mined.
actor TransactionPipeline {
    private enum Slot {
        /// Handed out; its owner is signing and storing the transaction.
        case reserved
        /// Stored, to be sent.
        case ready([UInt8])
        /// Its owner sends nothing with this nonce: a filler takes it.
        case abandoned
    }

    let signer: PrivateKey
    let chainID: UInt64
    let rpc: EthereumRPC
    private let tip: UInt256
    private let fixedMaxFee: UInt256?
    private let logger: Logger
    /// The next nonce to hand out; nil until read from the node.
    private var next: UInt64?
    /// The lowest nonce the node has not taken yet: the slots from it on are in `slots`.
    private var base: UInt64 = 0
    private var slots: [UInt64: Slot] = [:]
    /// The submitters waiting to learn whether the node took their transaction.
    private var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
    private var flushing = false
    private var gasPrice: (value: UInt256, at: ContinuousClock.Instant)?
    /// Pause before sending again after the node could not be reached or refused a filler.
    static let backoff: Duration = .milliseconds(500)
    /// The most transactions in one batch.
    static let maxBatch = 256

    /// - Parameters:
    ///   - tip: the priority fee of fillers (as the settlements').
    ///   - fixedMaxFee: the fee cap of every transaction; nil: twice the node's gas price plus the tip.
    init(signer: PrivateKey, chainID: UInt64, rpc: EthereumRPC, tip: UInt256, fixedMaxFee: UInt256? = nil, logger: Logger) {
        self.signer = signer
        self.chainID = chainID
        self.rpc = rpc
        self.tip = tip
        self.fixedMaxFee = fixedMaxFee
        self.logger = logger
    }

    /// The address whose nonces these are.
    nonisolated var address: Address { signer.address }

    /// The next nonce, handed out at once after the first (read from the node's pending count).
    /// Its owner must ``submit(_:raw:)`` or ``abandon(_:)`` it.
    func reserve() async throws -> UInt64 {
        if next == nil {
            let pending = try await rpc.transactionCount(address, block: .pending)
            if next == nil {
                next = pending
                base = pending
            }
        }
        let nonce = next ?? base
        next = nonce + 1
        slots[nonce] = .reserved
        return nonce
    }

    /// Queues the stored transaction of a reserved nonce for sending, and waits until the node took
    /// it (true) or the flusher met a failure it heals (false: the transaction stays stored, and
    /// queued unless a filler took its nonce).
    func submit(_ nonce: UInt64, raw: [UInt8]) async -> Bool {
        guard case .reserved = slots[nonce] else { return false }
        slots[nonce] = .ready(raw)
        startFlushing()
        return await withCheckedContinuation { waiters[nonce] = $0 }
    }

    /// Gives up a reserved nonce (its transaction could not be stored): a filler takes it.
    func abandon(_ nonce: UInt64) {
        guard case .reserved = slots[nonce] else { return }
        slots[nonce] = .abandoned
        startFlushing()
    }

    /// Reserves a nonce, runs `body` with it (sign and store), and submits the transaction it
    /// returns; the nonce is abandoned when `body` throws.
    ///
    /// - Returns: The raw transaction (its hash is keccak256 of it) and whether the node took it.
    nonisolated func send(_ body: @Sendable (UInt64) async throws -> [UInt8]) async throws -> (raw: [UInt8], sent: Bool) {
        let nonce = try await reserve()
        let raw: [UInt8]
        do {
            raw = try await body(nonce)
        } catch {
            await abandon(nonce)
            throw error
        }
        return (raw, await submit(nonce, raw: raw))
    }

    /// Transactions reserved or stored but not yet taken by the node.
    var inFlight: Int { slots.count }

    /// `eth_gasPrice`, read at most once a second.
    func currentGasPrice() async throws -> UInt256 {
        let now = ContinuousClock.now
        if let gasPrice, now - gasPrice.at < .seconds(1) { return gasPrice.value }
        let value = try await rpc.gasPrice()
        gasPrice = (value, now)
        return value
    }

    /// The fee cap of a new transaction: the fixed one, else twice the gas price plus the tip.
    func maxFee(tip: UInt256) async throws -> UInt256 {
        if let fixedMaxFee { return fixedMaxFee }
        return try await currentGasPrice().multipliedReportingOverflow(by: 2).partialValue + tip
    }

    // MARK: Flushing

    private func startFlushing() {
        guard !flushing, slots[base] != nil else { return }
        flushing = true
        Task { await self.flush() }
    }

    /// Sends the slots from `base` on, in order, while the next one is ready: all those ready in
    /// one JSON-RPC batch (a node runs a batch's calls in order), so that a busy connection pool
    /// costs one wait per batch, not one per transaction.
    private func flush() async {
        defer { flushing = false }
        while true {
            var run: [(nonce: UInt64, slot: Slot, raw: [UInt8])] = []
            var nonce = base
            collect: while run.count < Self.maxBatch, let slot = slots[nonce] {
                switch slot {
                case .reserved: break collect  // its owner is still storing it; its submit starts the flush again.
                case .ready(let raw): run.append((nonce, slot, raw))
                case .abandoned:
                    do {
                        run.append((nonce, slot, try await filler(nonce)))
                    } catch {
                        logger.warning("x402 nonce filler not signed", metadata: ["nonce": "\(nonce)", "error": "\(error)"])
                        break collect
                    }
                }
                nonce += 1
            }
            guard !run.isEmpty else {
                if case .abandoned = slots[base] { await pause() } else { return }
                continue
            }
            let answers: [Result<Hash32, EVMError>]
            do {
                answers = try await rpc.sendRawTransactions(run.map(\.raw))
            } catch {
                await heal(run[0].nonce, slot: run[0].slot, error: error)
                continue
            }
            for (item, answer) in zip(run, answers) {
                if case .failure(let error) = answer {
                    // The ones after it in the batch were refused or parked: sent again after healing.
                    await heal(item.nonce, slot: item.slot, error: error)
                    break
                }
                taken(item.nonce)
            }
        }
    }

    private func taken(_ nonce: UInt64) {
        slots[nonce] = nil
        waiters.removeValue(forKey: nonce)?.resume(returning: true)
        base = nonce + 1
        if let current = next, current < base { next = base }
    }

    /// The node refused the transaction of `nonce` or could not be reached: read its pending nonce
    /// and make the account's nonces gapless again.
    private func heal(_ nonce: UInt64, slot: Slot, error: EVMError) async {
        let pending: UInt64
        do {
            pending = try await rpc.transactionCount(address, block: .pending)
        } catch {
            // The node is unreachable: the slot is sent again, as it is, after a pause.
            logger.warning("x402 node unreachable; transactions wait", metadata: ["nonce": "\(nonce)", "error": "\(error)"])
            await pause()
            return
        }
        if pending > nonce {
            // The nonce is used already (the node took this very transaction before its answer was
            // lost, or another one): nothing to send for it.
            taken(nonce)
            return
        }
        if pending < nonce {
            // The node lost transactions it had taken (nonces pending..<nonce): fill them.
            logger.warning("x402 sender nonce gap; filling it", metadata: ["from": "\(pending)", "to": "\(nonce)"])
            for missing in pending..<nonce where slots[missing] == nil { slots[missing] = .abandoned }
            base = pending
            return
        }
        if error.code == .rpcTimeout || error.code == .rpcTransport {
            await pause()
            return
        }
        if case .abandoned = slot {
            logger.error("x402 nonce filler refused by the node; retrying", metadata: ["nonce": "\(nonce)", "error": "\(error)"])
            await pause()
            return
        }
        // The node refuses this transaction itself: a filler takes its nonce so that the ones after
        // it can be mined; its settlement is resolved when resumed (a replacement, or pending).
        logger.warning(
            "x402 transaction refused by the node; a filler takes its nonce", metadata: ["nonce": "\(nonce)", "error": "\(error)"])
        slots[nonce] = .abandoned
        waiters.removeValue(forKey: nonce)?.resume(returning: false)
    }

    /// Tells every waiting submitter that its transaction is not taken yet (it stays queued), so
    /// that none waits on a node that cannot be reached beyond its own deadline.
    private func releaseWaiters() {
        let waiting = waiters
        waiters = [:]
        for waiter in waiting.values { waiter.resume(returning: false) }
    }

    private func pause() async {
        releaseWaiters()
        try? await Task.sleep(for: Self.backoff)
    }

    /// A zero-value transfer to the sender itself with `nonce`.
    private func filler(_ nonce: UInt64) async throws -> [UInt8] {
        let fee = try await maxFee(tip: tip)
        return EIP1559Transaction(
            chainID: chainID, nonce: nonce, maxPriorityFeePerGas: min(tip, fee), maxFeePerGas: fee, gasLimit: 21_000, to: address, data: []
        ).signed(with: signer).rawBytes
    }
}
