import Crypto
import EVM
import Foundation
import Ledger
import Logging
import RailKit
import Synchronization

/// An x402 facilitator for the `exact` scheme on EVM chains (EIP-3009
/// `transferWithAuthorization`), settling with its own key and booking every payment in the ledger.
/// It settles `upto` (Permit2 through `x402UptoPermit2Proxy`) with the same rows, transactions and
/// bookings; see `X402Facilitator+Upto.swift` and decision 0037.
///
/// - ``verify(_:requirements:)`` checks the payment against the caller's requirements: scheme,
///   network, known token, EIP-712 domain from the configuration (never the client's), recipient
///   (a configured merchant's `payTo`, nobody else's) and exact, non-zero amount, the time window (`validBefore ≥ now + 6`, `validAfter ≤ now`), the
///   signature, and that the nonce is not already settled (durable store). With
///   ``X402FacilitatorConfiguration/ChainChecks`` on it also reads `authorizationState` and the
///   payer's balance; off, verify makes no chain call.
/// - ``settle(_:requirements:)`` is idempotent per `(network, asset, payer, nonce)`: it reserves a
///   row in `settle.x402_settlements` before any transaction exists, books the `verified` hold,
///   stores the signed raw transaction before sending it, and waits for the receipt up to
///   ``X402FacilitatorConfiguration/receiptTimeout``. Settlements are pipelined (decision 0041):
///   nonces are handed out without waiting for the node, many transactions are in flight (several
///   per block), one poller watches for all their receipts, and the bookings of concurrent
///   settlements are committed together. Without a receipt by then it answers
///   `settlement_pending` (never success); a later call with the same payload resumes from the row:
///   it re-sends the same raw transaction or reads its receipt, and never signs a second one while
///   the first can still be mined.
///
/// ```swift
/// let facilitator = X402Facilitator(
///     configuration: .init(tokens: [usdc], signer: key, merchantAccounts: [payTo.lowercased: "merchant:acme"]),
///     rpc: EthereumRPC(url: rpcURL), store: X402SettlementStore(client: postgres), booker: RailBooker(ledger: ledger))
/// let router = Router()
/// X402FacilitatorRoutes.add(to: router, facilitator: facilitator, access: .bearer(tokens: [token]))
/// ```
public final class X402Facilitator: Facilitator {
    public let configuration: X402FacilitatorConfiguration
    public let rpc: EthereumRPC
    public let store: X402SettlementStore
    public let booker: RailBooker?
    public let logger: Logger
    /// The rail the bookings are made on.
    public let descriptor: RailDescriptor
    /// The signer's nonces and transactions in flight; shared with the batch-settlement
    /// facilitator that signs with the same key.
    let sender: TransactionPipeline
    let receipts: ReceiptWatcher
    /// The bookings of concurrent settlements, committed in one ledger call per batch.
    private let bookings = GroupQueue<[RailEvent], Result<[RailBooker.Outcome], RailError>>(
        maxBatch: 256, missing: .failure(RailError(.ledger, "the booking batch gave no answer")))
    private let domains: [String: (X402Token, TokenDomain)]
    private let installed = Mutex(false)

    public init(
        configuration: X402FacilitatorConfiguration, rpc: EthereumRPC, store: X402SettlementStore, booker: RailBooker? = nil,
        logger: Logger = Logger(label: "settle.x402.facilitator")
    ) {
        self.configuration = configuration
        self.rpc = rpc
        self.store = store
        self.booker = booker
        self.logger = logger
        sender = TransactionPipeline(
            signer: configuration.signer, chainID: configuration.tokens.first?.chainID ?? 1, rpc: rpc,
            tip: configuration.maxPriorityFeePerGas, fixedMaxFee: configuration.maxFeePerGas, logger: logger)
        receipts = ReceiptWatcher(rpc: rpc, pollInterval: configuration.receiptPollInterval, logger: logger)
        self.descriptor = X402FundFlow.descriptor(
            id: configuration.railID, tokens: configuration.tokens, holdTimeout: Int64(configuration.maxTimeoutSeconds) + 60)
        var domains: [String: (X402Token, TokenDomain)] = [:]
        for token in configuration.tokens { domains["\(token.network)/\(token.address.lowercased)"] = (token, token.domain) }
        self.domains = domains
    }

    func tokenDomain(network: String, asset: String) -> (X402Token, TokenDomain)? {
        domains["\(network)/\(asset.lowercased())"]
    }

    /// The address that submits settlements and pays their gas.
    public var signerAddress: Address { configuration.signer.address }

    // MARK: Supported

    public func supported() async throws -> SupportedResponse {
        var networks: [String] = []
        for token in configuration.tokens where !networks.contains(token.network) { networks.append(token.network) }
        return SupportedResponse(
            kinds: networks.map { .init(x402Version: 2, scheme: "exact", network: $0) } + networks.map { uptoKind(network: $0) },
            extensions: [],
            signers: ["eip155:*": [signerAddress.checksummed]])
    }

    // MARK: Verify

    public func verify(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> VerifyResponse {
        let payment: CheckedPayment
        switch parse(payload, requirements) {
        case .failure(let invalid): return invalid.response
        case .success(let parsed): payment = parsed
        }
        if let invalid = checkWindowAndSignature(payment) { return invalid }
        if let record = try await store.record(payment.key) {
            switch record.state {
            case .reserved, .broadcast:
                // The same payment being settled: valid (its own transaction is what uses the
                // nonce on chain), so that its resource server may ask /settle again and get the
                // settlement's outcome.
                guard record.requestHash == payment.requestHash else {
                    return payment.invalid(.nonceAlreadyUsed, "the nonce is being settled")
                }
                return VerifyResponse(isValid: true, payer: payment.payer)
            case .settled: return payment.invalid(.nonceAlreadyUsed, "the authorization is already settled")
            case .failed where record.txHash != nil: return payment.invalid(.nonceAlreadyUsed, "the authorization's settlement failed")
            case .reversed: return payment.invalid(.nonceAlreadyUsed, "the authorization's settlement was reversed")
            case .failed: break
            }
        }
        if let invalid = try await chainChecks(payment, configuration.chainChecks) { return invalid }
        return VerifyResponse(isValid: true, payer: payment.payer)
    }

    // MARK: Settle

    public func settle(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> SettleResponse {
        let payment: CheckedPayment
        switch parse(payload, requirements, settling: true) {
        case .failure(let invalid): return invalid.settleResponse(network: requirements.network)
        case .success(let parsed): payment = parsed
        }
        if payment.upto != nil, payment.authorization.value.isZero {
            // upto charging nothing: no transaction, no row, nothing booked (the permit stays
            // unspent on chain; the resource server's record refuses its replay).
            if let invalid = checkWindowAndSignature(payment) { return Invalid(invalid).settleResponse(network: payment.network) }
            return SettleResponse(success: true, payer: payment.payer, transaction: "", network: payment.network, amount: "0")
        }
        let deadline = ContinuousClock.now + configuration.receiptTimeout
        let lease = Double(configuration.reservationLease.components.seconds)
        while true {
            if let record = try await store.record(payment.key) {
                // A row that failed before any transaction existed (the ledger or the node was
                // unavailable) is taken over: nothing of it can be on chain.
                if record.state == .failed, record.txHash == nil {
                    let gas: UInt64
                    switch try await validateForSettlement(payment) {
                    case .failure(let invalid): return invalid.settleResponse(network: payment.network)
                    case .success(let estimate): gas = estimate
                    }
                    if let created = try await store.takeOver(
                        payment.key, requestHash: payment.requestHash, payload: payment.payloadJSON, leaseSeconds: lease)
                    {
                        return try await run(payment.at(created), gas: gas, deadline: deadline)
                    }
                    continue
                }
                guard record.requestHash == payment.requestHash else {
                    return payment.failure(.nonceAlreadyUsed, "another payload holds this nonce")
                }
                switch record.state {
                case .settled, .failed:
                    if let result = record.result {
                        await book(
                            payment.at(record.createdAt), transition: record.state == .settled ? "settled" : "settlement_failed",
                            result: result)
                        return result
                    }
                    return payment.failure(.unexpectedSettleError, "the settlement has no stored result")
                case .reversed:
                    return payment.failure(
                        .transactionFailed, "the settlement left the chain in a reorganization and could no longer be paid",
                        transaction: record.txHash ?? "")
                case .broadcast:
                    return try await resume(payment.at(record.createdAt), record: record, deadline: deadline)
                case .reserved:
                    if record.idleSeconds > lease,
                        let created = try await store.takeOver(
                            payment.key, requestHash: payment.requestHash, payload: payment.payloadJSON, leaseSeconds: lease)
                    {
                        let payment = payment.at(created)
                        let gas: UInt64
                        switch try await validateForSettlement(payment) {
                        case .failure(let invalid):
                            let response = invalid.settleResponse(network: payment.network)
                            try await store.finish(payment.key, state: .failed, result: response)
                            return response
                        case .success(let estimate): gas = estimate
                        }
                        return try await run(payment, gas: gas, deadline: deadline)
                    }
                    if ContinuousClock.now >= deadline {
                        return payment.failure(.settlementPending, "the settlement is being prepared by another request", transaction: "")
                    }
                    try await Task.sleep(for: configuration.receiptPollInterval)
                    continue
                }
            }
            let gas: UInt64
            switch try await validateForSettlement(payment) {
            case .failure(let invalid): return invalid.settleResponse(network: payment.network)
            case .success(let estimate): gas = estimate
            }
            if let created = try await store.reserve(payment.key, requestHash: payment.requestHash, payload: payment.payloadJSON) {
                return try await run(payment.at(created), gas: gas, deadline: deadline)
            }
            // Another request reserved it between our read and insert: take its outcome.
        }
    }

    /// Resolves settlements that were broadcast but whose receipt nobody came back for: reads each
    /// one's receipt (re-sending its stored transaction when the node lost it) and, when there is
    /// one, records and books the outcome. Run it periodically; it never signs a transaction while
    /// the stored one can still be mined.
    ///
    /// - Returns: How many settlements reached a final state.
    @discardableResult
    public func reconcile(olderThan: Duration = .seconds(5), limit: Int = 100) async throws -> Int {
        var resolved = 0
        for record in try await store.unresolved(networks: networks, olderThan: Double(olderThan.components.seconds), limit: limit) {
            guard let payment = payment(of: record) else { continue }
            do {
                let answer = try await resume(payment.at(record.createdAt), record: record, deadline: .now)
                if !answer.isPending { resolved += 1 }
            } catch {
                logger.warning("x402 settlement not reconciled", metadata: ["key": "\(record.key)", "error": "\(error)"])
            }
        }
        return resolved
    }

    /// The networks of its tokens: the rows it resolves and follows (a database may hold other
    /// networks' rows, each followed by its own facilitator).
    var networks: [String] { Array(Set(configuration.tokens.map(\.network))).sorted() }

    /// The payment a stored row was made for, checked again; nil (logged) when it does not read
    /// back to itself.
    func payment(of record: SettlementRecord) -> CheckedPayment? {
        guard let payload = try? JSONDecoder().decode(PaymentPayload.self, from: Data(record.payload.utf8)),
            let (token, _) = tokenDomain(network: record.key.network, asset: record.key.asset)
        else {
            logger.error("x402 settlement row cannot be read back", metadata: ["key": "\(record.key)"])
            return nil
        }
        // The stored payload passed the binding checks against the resource's requirements,
        // whose terms its accepted copy repeats; the domain is the configured token's.
        var requirements = payload.accepted
        requirements.extra = ["name": .string(token.name), "version": .string(token.version)]
        // An upto row settles less than the accepted maximum: the amount its transaction settles.
        if payload.accepted.scheme == Self.upto, let raw = record.rawTx, let amount = Self.uptoSettledAmount(rawTransaction: raw) {
            requirements.amount = amount.description
        }
        guard case .success(let payment) = parse(payload, requirements, settling: true), payment.requestHash == record.requestHash else {
            logger.error("x402 settlement row does not parse back to itself", metadata: ["key": "\(record.key)"])
            return nil
        }
        return payment
    }

    /// Everything `verify` checks, plus the chain: the authorization is unused, the balance covers
    /// it, and the call simulates (its gas estimate is the result).
    func validateForSettlement(_ payment: CheckedPayment) async throws -> Result<UInt64, Invalid> {
        if let invalid = checkWindowAndSignature(payment) { return .failure(Invalid(invalid)) }
        if let invalid = try await chainChecks(payment, .all) { return .failure(Invalid(invalid)) }
        guard configuration.estimateGas else { return .success(configuration.gasLimit) }
        do {
            let estimate = try await rpc.estimateGas(CallRequest(from: signerAddress, to: payment.target, data: payment.calldata))
            return .success(estimate + estimate / 4 + 5_000)
        } catch {
            let reason = payment.upto == nil ? Self.reason(forRevert: error) : X402Reason.upto(forRevert: error)
            return .failure(Invalid(payment.invalid(reason, "simulation failed: \(error)")))
        }
    }

    /// A reserved row: book the hold, sign with the next nonce, store, send, wait.
    func run(_ payment: CheckedPayment, gas: UInt64, deadline: ContinuousClock.Instant) async throws -> SettleResponse {
        if let failure = await bookHold(payment) {
            try await store.finish(payment.key, state: .failed, result: failure)
            return failure
        }
        let hash = try await broadcast(payment, gas: gas)
        return try await waitForReceipt(payment, txHash: hash, deadline: deadline)
    }

    /// Signs the transfer with the sender's next nonce, stores it, then queues it for sending
    /// (``TransactionPipeline``). Returns its hash.
    ///
    /// - Parameter send: false leaves the stored transaction unsent and its nonce reserved, as a
    ///   process that stopped between the two would (for tests).
    @discardableResult
    func broadcast(_ payment: CheckedPayment, gas: UInt64, send: Bool = true) async throws -> Hash32 {
        do {
            let tip = configuration.maxPriorityFeePerGas
            let fee = try await sender.maxFee(tip: tip)
            let (signer, store) = (configuration.signer, store)
            let sign = { @Sendable (nonce: UInt64) async throws -> [UInt8] in
                let signed = EIP1559Transaction(
                    chainID: payment.token.chainID, nonce: nonce, maxPriorityFeePerGas: min(tip, fee), maxFeePerGas: fee, gasLimit: gas,
                    to: payment.target, data: payment.calldata
                ).signed(with: signer)
                try await store.recordBroadcast(payment.key, txHash: signed.hash.hex, rawTx: signed.rawBytes)
                return signed.rawBytes
            }
            let raw: [UInt8]
            if send {
                raw = try await sender.send(sign).raw
            } else {
                raw = try await sign(try await sender.reserve())
            }
            return Keccak256.hash(raw)
        } catch {
            // Nothing was stored: the reservation stays, retryable, and the hold with it.
            _ = try? await store.finish(
                payment.key, state: .failed,
                result: payment.failure(.unexpectedSettleError, "could not submit the settlement: \(error)"))
            throw error
        }
    }

    /// A row with a stored transaction: read its receipt; else send the same raw transaction again,
    /// or, when it can never be mined (its nonce went to another transaction and the authorization is
    /// still unused), sign a replacement.
    func resume(_ payment: CheckedPayment, record: SettlementRecord, deadline: ContinuousClock.Instant) async throws -> SettleResponse {
        guard let txText = record.txHash, let txHash = try? Hash32(hex: txText), let raw = record.rawTx else {
            return payment.failure(.unexpectedSettleError, "the stored settlement has no transaction")
        }
        _ = await bookHold(payment)
        if let receipt = try? await rpc.transactionReceipt(txHash) { return try await finish(payment, receipt: receipt) }
        do {
            _ = try await rpc.sendRawTransaction(raw)
        } catch {
            if let signed = try? SignedEIP1559Transaction(raw: raw),
                let mined = try? await rpc.transactionCount(signerAddress, block: .latest), mined > signed.transaction.nonce,
                (try? await rpc.transactionReceipt(txHash)) == nil,
                let used = try? await authorizationUsed(payment), !used
            {
                logger.warning("x402 settlement transaction can never be mined; signing a replacement", metadata: ["key": "\(payment.key)"])
                let hash = try await broadcast(payment, gas: signed.transaction.gasLimit)
                return try await waitForReceipt(payment, txHash: hash, deadline: deadline)
            }
        }
        return try await waitForReceipt(payment, txHash: txHash, deadline: deadline)
    }

    func waitForReceipt(_ payment: CheckedPayment, txHash: Hash32, deadline: ContinuousClock.Instant) async throws -> SettleResponse {
        // A node that mines at once (automine) has the receipt already: no poll to wait for.
        if let receipt = try? await rpc.transactionReceipt(txHash) { return try await finish(payment, receipt: receipt) }
        if let receipt = await receipts.receipt(txHash, until: deadline) { return try await finish(payment, receipt: receipt) }
        return payment.failure(.settlementPending, "broadcast; no receipt yet: ask again with the same payload", transaction: txHash.hex)
    }

    /// Settled with status 1 and the expected `Transfer` log; failed otherwise.
    func finish(_ payment: CheckedPayment, receipt: Receipt) async throws -> SettleResponse {
        let transferred = receipt.logs.contains { log in
            guard log.address == payment.token.address, let event = try? TransferEvent(log: log) else { return false }
            return event.from == payment.authorization.from && event.to == payment.authorization.to
                && event.value == payment.authorization.value
        }
        let response: SettleResponse
        let state: SettlementRecord.State
        if receipt.succeeded && transferred {
            response = SettleResponse(
                success: true, payer: payment.payer, transaction: receipt.transactionHash.hex, network: payment.network,
                amount: payment.authorization.value.description)
            state = .settled
        } else {
            response = payment.failure(
                receipt.succeeded ? .transferEventMismatch : .transactionFailed,
                receipt.succeeded ? "no matching Transfer log" : "the transaction reverted", transaction: receipt.transactionHash.hex)
            state = .failed
        }
        if try await store.finish(payment.key, state: state, result: response) {
            await book(payment, transition: state == .settled ? "settled" : "settlement_failed", result: response)
            return response
        }
        // Another request finished it first: its answer stands.
        if let record = try await store.record(payment.key), let result = record.result {
            await book(payment.at(record.createdAt), transition: record.state == .settled ? "settled" : "settlement_failed", result: result)
            return result
        }
        return response
    }

    // MARK: Chain

    func chainChecks(_ payment: CheckedPayment, _ checks: X402FacilitatorConfiguration.ChainChecks) async throws -> VerifyResponse? {
        if checks.authorizationState, try await authorizationUsed(payment) {
            return payment.invalid(.nonceAlreadyUsed, "authorizationState is true on chain")
        }
        if checks.balance, payment.upto != nil, try await !permit2AllowanceCovers(payment) {
            return payment.invalid(.permit2AllowanceRequired, "the payer has not approved Permit2 for \(payment.authorization.value)")
        }
        if checks.balance {
            let output = try await rpc.call(
                CallRequest(to: payment.token.address, data: ABI.encodeCall("balanceOf(address)", [.address(payment.authorization.from)])))
            guard let balance = try ABI.decode([.uint256], from: output).first?.uint else {
                throw X402FacilitatorError("balanceOf returned no value")
            }
            if balance < payment.authorization.value {
                return payment.invalid(.insufficientBalance, "balance \(balance) is below \(payment.authorization.value)")
            }
        }
        return nil
    }

    func authorizationUsed(_ payment: CheckedPayment) async throws -> Bool {
        if let upto = payment.upto { return try await permit2NonceUsed(upto) }
        let output = try await rpc.call(
            CallRequest(
                to: payment.token.address,
                data: ABI.encodeCall(
                    "authorizationState(address,bytes32)", [.address(payment.authorization.from), .bytes32(payment.authorization.nonce)])))
        return try ABI.decode([.bool], from: output).first?.bool ?? false
    }

    static func reason(forRevert error: any Error) -> X402Reason {
        let text = ((error as? EVMError)?.rpc.map { "\($0.revert?.description ?? "") \($0.message)" } ?? "\(error)").lowercased()
        if text.contains("used or canceled") { return .nonceAlreadyUsed }
        if text.contains("exceeds balance") || text.contains("insufficient") { return .insufficientBalance }
        if text.contains("invalid signature") { return .invalidSignature }
        if text.contains("expired") { return .validBefore }
        if text.contains("not yet valid") { return .validAfter }
        return .simulationFailed
    }

    // MARK: Ledger

    /// Books the `verified` hold; a failure answer when the ledger refuses it.
    private func bookHold(_ payment: CheckedPayment) async -> SettleResponse? {
        guard let booker, let merchant = configuration.merchant(for: payment.authorization.to) else { return nil }
        do {
            try await install(booker)
            let outcome = try await groupBook([event(payment, transition: "verified", merchant: merchant, txHash: nil)], booker)
            if case .rejected(let error) = outcome.first {
                logger.error("x402 hold refused by the ledger", metadata: ["key": "\(payment.key)", "error": "\(error)"])
                return payment.failure(.unexpectedSettleError, "the ledger refused the payment: \(error.message)")
            }
            return nil
        } catch {
            logger.error("x402 hold not booked", metadata: ["key": "\(payment.key)", "error": "\(error)"])
            return payment.failure(.unexpectedSettleError, "the ledger is unavailable")
        }
    }

    /// Books `settled`, `settlement_failed` or `reversed` (idempotent: a repeat answers `exists`).
    func book(_ payment: CheckedPayment, transition: String, result: SettleResponse) async {
        guard let booker, let merchant = configuration.merchant(for: payment.authorization.to) else { return }
        do {
            try await install(booker)
            let events = [
                event(payment, transition: "verified", merchant: merchant, txHash: nil),
                event(payment, transition: transition, merchant: merchant, txHash: result.transaction),
            ]
            // A refusal is alerted by the booker and retried when the payment is asked about again.
            _ = try await groupBook(events, booker)
        } catch {
            logger.error(
                "x402 booking failed; it is retried when the payment is asked about again",
                metadata: ["key": "\(payment.key)", "error": "\(error)"])
        }
    }

    /// Books `events` in one ledger call with those of the settlements booking meanwhile (group
    /// commit); one outcome per event, in order.
    private func groupBook(_ events: [RailEvent], _ booker: RailBooker) async throws(RailError) -> [RailBooker.Outcome] {
        let descriptor = self.descriptor
        let answer = await bookings.commit(events) { batch in
            do throws(RailError) {
                let outcomes = try await booker.book(batch.flatMap(\.self), on: descriptor)
                var answers: [Result<[RailBooker.Outcome], RailError>] = []
                var offset = 0
                for events in batch {
                    answers.append(.success(Array(outcomes[offset..<offset + events.count])))
                    offset += events.count
                }
                return answers
            } catch {
                return batch.map { _ in .failure(error) }
            }
        }
        return try answer.get()
    }

    private func install(_ booker: RailBooker) async throws {
        if installed.withLock({ $0 }) { return }
        try await booker.install(descriptor)
        installed.withLock { $0 = true }
    }

    private func event(_ payment: CheckedPayment, transition: String, merchant: AccountID, txHash: String?) -> RailEvent {
        var metadata: Metadata = ["payer": .string(payment.payer), "network": .string(payment.network)]
        if let txHash, !txHash.isEmpty { metadata["tx_hash"] = .string(txHash) }
        return RailEvent(
            transition: transition, reference: payment.key.description, asset: payment.token.assetID,
            amounts: ["amount": payment.ledgerAmount],
            bindings: ["payto": payment.authorization.to.lowercased, "merchant": merchant.rawValue],
            occurredAt: Date(timeIntervalSince1970: payment.createdAt), metadata: metadata)
    }
}
