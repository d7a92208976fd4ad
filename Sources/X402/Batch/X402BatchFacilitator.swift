import EVM
import Foundation
import Ledger
import Logging

/// x402's `batch-settlement` facilitator on EVM (ERC-3009 and Permit2 deposits), with the rules of x402 2.25's
/// own: it checks deposits, vouchers and refunds against the chain, and submits deposits
/// (`deposit` through the ERC-3009 collector), claims (`claimWithSignature`, signed by the
/// receiver authorizer it holds), sweeps (`settle`) and cooperative refunds
/// (`refundWithSignature`, batched with the channel's claim in one `multicall`).
///
/// It books nothing: the resource server (``X402BatchServer``) books what it charges and what
/// the chain did, because only it knows the charges. Vouchers are never settled here one by one:
/// the server commits them and claims them in batches.
public final class X402BatchFacilitator: Facilitator {
    public static let scheme = "batch-settlement"

    public let configuration: X402BatchConfiguration
    public let logger: Logger
    let chain: BatchChain

    /// - Parameter transactions: where its transactions are stored before they are broadcast, to
    ///   be followed until final (``follow(limit:)``); nil: they are not.
    public convenience init(
        configuration: X402BatchConfiguration, rpc: EthereumRPC, transactions: X402BatchTransactionStore? = nil,
        logger: Logger = Logger(label: "settle.x402.batch")
    ) {
        self.init(
            configuration: configuration, rpc: rpc, transactions: transactions, logger: logger,
            sender: TransactionPipeline(
                signer: configuration.signer, chainID: configuration.token.chainID, rpc: rpc, tip: configuration.maxPriorityFeePerGas,
                logger: logger))
    }

    /// - Parameter sender: the nonces of `configuration.signer`: shared with the `exact`
    ///   facilitator that signs with the same key, so their transactions never take one nonce twice.
    init(
        configuration: X402BatchConfiguration, rpc: EthereumRPC, transactions: X402BatchTransactionStore?, logger: Logger,
        sender: TransactionPipeline
    ) {
        self.configuration = configuration
        self.logger = logger
        domain = configuration.domain
        chain = BatchChain(configuration: configuration, rpc: rpc, sender: sender, transactions: transactions)
    }

    /// The contract's EIP-712 domain; its separator is a hash computed once, not per voucher.
    let domain: TokenDomain
    var network: String { configuration.token.network }

    public func supported() async throws -> SupportedResponse {
        SupportedResponse(
            kinds: [
                .init(
                    x402Version: 2, scheme: Self.scheme, network: network,
                    extra: ["receiverAuthorizer": .string(configuration.receiverAuthorizer.address.checksummed)])
            ],
            signers: ["eip155:*": [configuration.signer.address.checksummed]])
    }

    // MARK: Verify

    public func verify(_ payload: PaymentPayload, requirements: PaymentRequirements) async throws -> VerifyResponse {
        let parsed: BatchPayload
        switch admit(payload, requirements) {
        case .failure(let refusal): return .invalid(refusal.reason, refusal.message)
        case .success(let value): parsed = value
        }
        switch parsed {
        case .deposit(let config, let voucher, let deposit):
            return try await verifyDeposit(config, voucher, deposit, requirements).response
        case .voucher(let config, let voucher):
            return try await verifyVoucher(config, voucher, requirements, refund: false).response
        case .refund(let config, let voucher, _, _):
            return try await verifyVoucher(config, voucher, requirements, refund: true).response
        case .claim, .settle:
            return .invalid(.batchPayloadType, "claim and settle payloads are settled, not verified")
        }
    }

    /// A verification: the chain's channel state when valid.
    struct Verdict {
        var payer: Address
        var state: BatchChannelState?
        var channelID: Hash32
        var refusal: (reason: X402Reason, message: String?)?

        var response: VerifyResponse {
            if let refusal { return .invalid(refusal.reason, refusal.message, payer: payer.checksummed) }
            return VerifyResponse(isValid: true, payer: payer.checksummed, extra: state?.json(channelID: channelID))
        }
    }

    func verifyVoucher(_ config: BatchChannelConfig, _ voucher: BatchPayload.Voucher, _ requirements: PaymentRequirements, refund: Bool)
        async throws -> Verdict
    {
        var verdict = Verdict(payer: config.payer, channelID: voucher.channelID)
        if let reason = checkConfig(config, voucher.channelID, requirements) ?? checkVoucherSignature(config, voucher) {
            verdict.refusal = (reason, nil)
            return verdict
        }
        let state: BatchChannelState
        do {
            state = try await chain.state(voucher.channelID)
        } catch {
            verdict.refusal = (.batchChannelNotFound, "\(error)")
            return verdict
        }
        verdict.state = state
        verdict.refusal =
            Self.cumulativeRefusal(voucher.maxClaimable, state: state, refund: refund)
            ?? (refund ? nil : withdrawalRefusal(state, config: config))
        return verdict
    }

    /// A voucher on a channel whose payer's withdrawal can complete before a claim of it lands
    /// (within ``X402BatchConfiguration/claimMargin`` of `withdrawRequestedAt + withdrawDelay`)
    /// is refused: the payer may take the unclaimed balance at any moment, so the voucher is worth
    /// no more than what is already claimed, and it gets the reason of a voucher above what the
    /// channel can pay, `invalid_batch_settlement_evm_cumulative_exceeds_balance` (x402 2.25 has
    /// no reason of its own for it; decision 0038). A refund is still taken: it returns the rest.
    func withdrawalRefusal(_ state: BatchChannelState, config: BatchChannelConfig) -> (reason: X402Reason, message: String?)? {
        guard state.withdrawRequestedAt > 0 else { return nil }
        let completes = state.withdrawRequestedAt + config.withdrawDelay
        guard configuration.clock() + configuration.claimMargin >= completes else { return nil }
        return (
            .batchCumulativeExceedsBalance,
            "the payer's withdrawal can complete at \(completes) (unix seconds): the channel pays no voucher beyond what is claimed"
        )
    }

    /// The voucher against the channel's chain state: funded, within the balance, above what is
    /// claimed (a refund's zero-charge voucher may equal it).
    static func cumulativeRefusal(_ maxClaimable: EVM.UInt256, state: BatchChannelState, refund: Bool) -> (
        reason: X402Reason, message: String?
    )? {
        if state.balance == .zero { return (.batchChannelNotFound, "the channel has no balance") }
        if maxClaimable > state.balance {
            return (.batchCumulativeExceedsBalance, "the voucher exceeds the channel's balance \(state.balance)")
        }
        if refund ? maxClaimable < state.totalClaimed : maxClaimable <= state.totalClaimed {
            return (.batchCumulativeBelowClaimed, "the voucher is not above what is claimed (\(state.totalClaimed))")
        }
        return nil
    }

    /// - Parameter known: the channel's chain state when the caller has just read it.
    func verifyDeposit(
        _ config: BatchChannelConfig, _ voucher: BatchPayload.Voucher, _ deposit: BatchPayload.Deposit, _ requirements: PaymentRequirements,
        state known: BatchChannelState? = nil
    ) async throws -> Verdict {
        var verdict = Verdict(payer: config.payer, channelID: voucher.channelID)
        func refuse(_ reason: X402Reason, _ message: String? = nil) -> Verdict {
            verdict.refusal = (reason, message)
            return verdict
        }
        if let reason = checkConfig(config, voucher.channelID, requirements) { return refuse(reason) }
        guard requirements.extra?["name"]?.stringValue != nil, requirements.extra?["version"]?.stringValue != nil else {
            return refuse(.batchMissingEIP712Domain)
        }
        // The route names the collector (`assetTransferMethod`, ERC-3009 when absent), as the
        // official facilitator reads it.
        let method = requirements.extra?["assetTransferMethod"]?.stringValue ?? "eip3009"
        guard method == deposit.method else {
            return refuse(
                method == "permit2" ? .batchPermit2AuthorizationRequired : .batchERC3009AuthorizationRequired,
                "this route takes \(method) deposits")
        }
        let now = EVM.UInt256(configuration.clock())
        switch deposit.authorization {
        case .erc3009(let validAfter, let validBefore, let salt, let signatureBytes):
            if validBefore < now + 6 { return refuse(.batchValidBefore, "validBefore is less than 6 seconds away") }
            if validAfter > now { return refuse(.batchValidAfter, "validAfter is in the future") }
            // The collector is fixed by the scheme: an authorization to any other address (or of
            // other terms) recovers to someone else than the payer.
            let authorization = ReceiveWithAuthorization(
                from: config.payer, to: BatchSettlement.erc3009DepositCollector, value: deposit.amount, validAfter: validAfter,
                validBefore: validBefore, nonce: BatchSettlement.erc3009DepositNonce(channelID: voucher.channelID, salt: salt))
            guard let signature = try? Signature(bytes: signatureBytes),
                (try? authorization.recoverSigner(signature, in: configuration.token.domain)) == config.payer
            else {
                return refuse(.batchReceiveAuthorizationSignature, "the ERC-3009 authorization is not the payer's to the deposit collector")
            }
        case .permit2(let permit, let signatureBytes):
            if permit.from != config.payer { return refuse(.batchPermit2InvalidSignature, "the permit is not from the channel's payer") }
            if permit.spender != BatchSettlement.permit2DepositCollector {
                return refuse(.batchPermit2InvalidSpender, "the permit's spender is not the Permit2 deposit collector")
            }
            if permit.token != configuration.token.address { return refuse(.batchTokenMismatch, "the permit is for another token") }
            if permit.amount != deposit.amount { return refuse(.batchPermit2AmountMismatch, "the permit is for another amount") }
            if permit.channelID != voucher.channelID { return refuse(.batchChannelIDMismatch, "the permit's witness is another channel") }
            if permit.deadline < now + 6 {
                return refuse(.batchPermit2DeadlineExpired, "the permit's deadline is less than 6 seconds away")
            }
            guard let signature = try? Signature(bytes: signatureBytes),
                (try? signature.recoverAddress(from: permit.digest(chainID: configuration.token.chainID))) == config.payer
            else {
                return refuse(.batchPermit2InvalidSignature, "the Permit2 witness transfer is not the payer's")
            }
            // The standard path: the payer approved Permit2 beforehand (gas-sponsored approvals,
            // EIP-2612 or a relayed approve, are not offered by this facilitator).
            do {
                if try await chain.tokenAllowance(config.payer, spender: Permit2.address) < deposit.amount {
                    return refuse(.batchPermit2AllowanceRequired, "the payer has not approved Permit2 for the deposit")
                }
            } catch {
                return refuse(.batchRPCReadFailed, "\(error)")
            }
        }
        if let reason = checkVoucherSignature(config, voucher) { return refuse(reason) }
        let state: BatchChannelState
        let payerBalance: EVM.UInt256
        do {
            if let known { state = known } else { state = try await chain.state(voucher.channelID) }
            payerBalance = try await chain.tokenBalance(config.payer)
        } catch {
            return refuse(.batchRPCReadFailed, "\(error)")
        }
        verdict.state = state
        if payerBalance < deposit.amount { return refuse(.batchInsufficientBalance, "the payer holds \(payerBalance)") }
        if voucher.maxClaimable > state.balance + deposit.amount {
            return refuse(.batchCumulativeExceedsBalance, "the voucher exceeds the balance after the deposit")
        }
        if voucher.maxClaimable <= state.totalClaimed { return refuse(.batchCumulativeBelowClaimed) }
        do {
            _ = try await chain.simulate(Self.depositCall(config, deposit))
        } catch {
            return refuse(.batchDepositSimulationFailed, "\(error)")
        }
        return verdict
    }

    /// The channel names this route's terms and Settle's authorizer, and its hash is its id.
    func checkConfig(_ config: BatchChannelConfig, _ channelID: Hash32, _ requirements: PaymentRequirements) -> X402Reason? {
        if config.channelID(in: domain) != channelID { return .batchChannelIDMismatch }
        guard let payTo = try? Address(requirements.payTo), config.receiver == payTo,
            configuration.merchantAccounts[payTo.lowercased] != nil
        else { return .batchReceiverMismatch }
        guard let announced = requirements.extra?["receiverAuthorizer"]?.stringValue.flatMap({ try? Address($0) }), announced != .zero,
            config.receiverAuthorizer == announced, announced == configuration.receiverAuthorizer.address
        else { return .batchReceiverAuthorizerMismatch }
        guard (try? Address(requirements.asset)) == config.token, config.token == configuration.token.address else {
            return .batchTokenMismatch
        }
        if let delay = requirements.extra?["withdrawDelay"], (try? BatchPayload.uint(delay))?.uint64 != config.withdrawDelay {
            return .batchWithdrawDelayMismatch
        }
        if !BatchSettlement.withdrawDelayRange.contains(config.withdrawDelay) { return .batchWithdrawDelayOutOfRange }
        return nil
    }

    /// ECDSA by the payer's authorizer, or by the payer itself when there is none (EIP-1271
    /// wallets cannot exist on the chains Settle runs this on yet).
    func checkVoucherSignature(_ config: BatchChannelConfig, _ voucher: BatchPayload.Voucher) -> X402Reason? {
        let digest = BatchSettlement.voucherDigest(channelID: voucher.channelID, maxClaimableAmount: voucher.maxClaimable, domain: domain)
        let expected = config.payerAuthorizer == .zero ? config.payer : config.payerAuthorizer
        guard let signature = try? Signature(bytes: voucher.signature), (try? signature.recoverAddress(from: digest)) == expected else {
            return .batchVoucherSignature
        }
        return nil
    }

    // MARK: Admission

    struct Refusal: Error {
        var reason: X402Reason
        var message: String?
    }

    /// The scheme, network and token are this facilitator's, and the payload parses.
    func admit(_ payload: PaymentPayload, _ requirements: PaymentRequirements) -> Result<BatchPayload, Refusal> {
        guard payload.accepted.scheme == Self.scheme, requirements.scheme == Self.scheme else {
            return .failure(Refusal(reason: .batchInvalidScheme))
        }
        guard payload.accepted.network == requirements.network, requirements.network == network else {
            return .failure(Refusal(reason: .batchNetworkMismatch))
        }
        do {
            return .success(try BatchPayload.parse(payload.payload))
        } catch {
            return .failure(Refusal(reason: error.reason, message: error.message))
        }
    }

    // MARK: Calls

    static func depositCall(_ config: BatchChannelConfig, _ deposit: BatchPayload.Deposit) -> [UInt8] {
        let (collector, collectorData): (Address, [UInt8]) =
            switch deposit.authorization {
            case .erc3009(let validAfter, let validBefore, let salt, let signature):
                (
                    BatchSettlement.erc3009DepositCollector,
                    ABI.encode([.uint(validAfter), .uint(validBefore), .uint(salt), .bytes(signature)])
                )
            case .permit2(let permit, let signature):
                // `collect`'s data: the permit's nonce, deadline and signature, no EIP-2612 permit.
                (
                    BatchSettlement.permit2DepositCollector,
                    ABI.encode([.uint(permit.nonce), .uint(permit.deadline), .bytes(signature), .bytes([])])
                )
            }
        return ABI.encodeCall(
            "deposit(\(BatchChannelConfig.abiType),uint128,address,bytes)",
            [config.abiValue, .uint(deposit.amount), .address(collector), .bytes(collectorData)])
    }

    static let claimsType = "((\(BatchChannelConfig.abiType),uint128),bytes,uint128)[]"

    func claimCall(_ claims: [BatchPayload.Claim], signature: [UInt8]) -> [UInt8] {
        let rows: [ABIValue] = claims.map {
            .tuple([.tuple([$0.config.abiValue, .uint($0.maxClaimable)]), .bytes($0.signature), .uint($0.totalClaimed)])
        }
        return ABI.encodeCall("claimWithSignature(\(Self.claimsType),bytes)", [.array(rows), .bytes(signature)])
    }

    /// The receiver authorizer's signature of a claim batch.
    func signClaims(_ claims: [BatchPayload.Claim]) -> [UInt8] {
        let entries = claims.map {
            BatchSettlement.ClaimEntry(
                channelID: $0.config.channelID(in: domain), maxClaimableAmount: $0.maxClaimable, totalClaimed: $0.totalClaimed)
        }
        return configuration.receiverAuthorizer.sign(digest: BatchSettlement.claimBatchDigest(entries, domain: domain)).bytes
    }
}
