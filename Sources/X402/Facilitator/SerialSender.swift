import EVM

/// Serializes the transactions of one sender account: each gets the next nonce, is signed, stored
/// and sent before the next one starts, so concurrent settlements never reuse or skip a nonce.
actor SerialSender {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var nextNonce: UInt64?
    private var gasPrice: (value: UInt256, at: ContinuousClock.Instant)?

    /// Runs `body` with the next nonce, alone. `body` returns whether the transaction reached the
    /// node; when it did not, the next nonce is read from the chain again.
    func submit(address: Address, rpc: EthereumRPC, _ body: (UInt64) async throws -> Bool) async throws {
        await acquire()
        do {
            let nonce: UInt64
            if let cached = nextNonce { nonce = cached } else { nonce = try await rpc.transactionCount(address, block: .pending) }
            let sent = try await body(nonce)
            nextNonce = sent ? nonce + 1 : nil
        } catch {
            nextNonce = nil
            release()
            throw error
        }
        release()
    }

    /// `eth_gasPrice`, read at most once a second.
    func currentGasPrice(rpc: EthereumRPC) async throws -> UInt256 {
        let now = ContinuousClock.now
        if let gasPrice, now - gasPrice.at < .seconds(1) { return gasPrice.value }
        let value = try await rpc.gasPrice()
        gasPrice = (value, now)
        return value
    }

    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
