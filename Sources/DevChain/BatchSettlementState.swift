import EVM

/// The storage of x402's `x402BatchSettlement` contract deployed natively at its CREATE2 address:
/// channel balances and claims, pending timed withdrawals, refund nonces and the per-receiver totals
/// that `settle` sweeps.
struct BatchSettlementState: Sendable, Hashable {
    let address: Address
    let domain: TokenDomain
    var channels: [Hash32: Channel] = [:]
    var refundNonces: [Hash32: UInt256] = [:]
    var pendingWithdrawals: [Hash32: Withdrawal] = [:]
    var receivers: [ReceiverKey: ReceiverTotals] = [:]

    /// `ChannelState`: the escrowed balance, of which `totalClaimed` belongs to the receiver.
    struct Channel: Sendable, Hashable {
        var balance: UInt256 = .zero
        var totalClaimed: UInt256 = .zero
    }

    /// `WithdrawalState`: zero `initiatedAt` means none pending.
    struct Withdrawal: Sendable, Hashable {
        var amount: UInt256 = .zero
        var initiatedAt: UInt64 = 0
    }

    struct ReceiverKey: Sendable, Hashable {
        var receiver: Address
        var token: Address
    }

    /// `ReceiverState`: what claims credited the receiver in a token, and what `settle` paid out.
    struct ReceiverTotals: Sendable, Hashable {
        var totalClaimed: UInt256 = .zero
        var totalSettled: UInt256 = .zero
    }

    init(address: Address = BatchSettlement.address, chainID: UInt64) {
        self.address = address
        self.domain = BatchSettlement.domain(chainID: chainID, contract: address)
    }

    func channelID(_ config: BatchChannelConfig) -> Hash32 { config.channelID(in: domain) }

    enum Selector {
        static let config = BatchChannelConfig.abiType.description
        static let voucherClaims = "(((\(config.dropFirst().dropLast())),uint128),bytes,uint128)[]"
        static let multicall = ABI.selector("multicall(bytes[])")
        static let deposit = ABI.selector("deposit(\(config),uint128,address,bytes)")
        static let claim = ABI.selector("claim(\(voucherClaims))")
        static let claimWithSignature = ABI.selector("claimWithSignature(\(voucherClaims),bytes)")
        static let settle = ABI.selector("settle(address,address)")
        static let initiateWithdraw = ABI.selector("initiateWithdraw(\(config),uint128)")
        static let finalizeWithdraw = ABI.selector("finalizeWithdraw(\(config))")
        static let refund = ABI.selector("refund(\(config),uint128)")
        static let refundWithSignature = ABI.selector("refundWithSignature(\(config),uint128,uint256,bytes)")
        static let getChannelId = ABI.selector("getChannelId(\(config))")
        static let channels = ABI.selector("channels(bytes32)")
        static let pendingWithdrawals = ABI.selector("pendingWithdrawals(bytes32)")
        static let receivers = ABI.selector("receivers(address,address)")
        static let refundNonce = ABI.selector("refundNonce(bytes32)")
        static let getVoucherDigest = ABI.selector("getVoucherDigest(bytes32,uint128)")
        static let getRefundDigest = ABI.selector("getRefundDigest(bytes32,uint256,uint128)")
        static let getClaimBatchDigest = ABI.selector("getClaimBatchDigest(\(voucherClaims))")
        static let minWithdrawDelay = ABI.selector("MIN_WITHDRAW_DELAY()")
        static let maxWithdrawDelay = ABI.selector("MAX_WITHDRAW_DELAY()")
        static let channelConfigTypeHash = ABI.selector("CHANNEL_CONFIG_TYPEHASH()")
        static let voucherTypeHash = ABI.selector("VOUCHER_TYPEHASH()")
        static let refundTypeHash = ABI.selector("REFUND_TYPEHASH()")
        static let claimEntryTypeHash = ABI.selector("CLAIM_ENTRY_TYPEHASH()")
        static let claimBatchTypeHash = ABI.selector("CLAIM_BATCH_TYPEHASH()")
    }

    /// The ABI type of `VoucherClaim[]`: `((config, maxClaimableAmount), signature, totalClaimed)`.
    static let voucherClaimsType = ABIType.array(
        .tuple([.tuple([BatchChannelConfig.abiType, .uint(bits: 128)]), .bytes, .uint(bits: 128)]))

    /// The contract's custom errors, and the collectors' `OnlyX402BatchSettlement`.
    enum Failure {
        static let invalidChannel = "InvalidChannel()"
        static let zeroDeposit = "ZeroDeposit()"
        static let depositOverflow = "DepositOverflow()"
        static let invalidSignature = "InvalidSignature()"
        static let notReceiverAuthorizer = "NotReceiverAuthorizer()"
        static let notAuthorizedToClaim = "NotAuthorizedToClaim()"
        static let notAuthorizedToRefund = "NotAuthorizedToRefund()"
        static let claimExceedsCeiling = "ClaimExceedsCeiling()"
        static let claimExceedsBalance = "ClaimExceedsBalance()"
        static let withdrawalAlreadyPending = "WithdrawalAlreadyPending()"
        static let withdrawalNotPending = "WithdrawalNotPending()"
        static let notAuthorizedToFinalizeWithdraw = "NotAuthorizedToFinalizeWithdraw()"
        static let withdrawDelayNotElapsed = "WithdrawDelayNotElapsed()"
        static let nothingToWithdraw = "NothingToWithdraw()"
        static let withdrawAmountExceedsAvailable = "WithdrawAmountExceedsAvailable()"
        static let withdrawDelayOutOfRange = "WithdrawDelayOutOfRange()"
        static let emptyBatch = "EmptyBatch()"
        static let depositCollectionFailed = "DepositCollectionFailed()"
        static let invalidCollector = "InvalidCollector()"
        static let invalidRefundNonce = "InvalidRefundNonce()"
        static let zeroRefund = "ZeroRefund()"
        static let onlyX402BatchSettlement = "OnlyX402BatchSettlement()"
        static let ecdsaInvalidSignature = "ECDSAInvalidSignature()"
        static let ecdsaInvalidSignatureLength = "ECDSAInvalidSignatureLength(uint256)"
        static let ecdsaInvalidSignatureS = "ECDSAInvalidSignatureS(bytes32)"
    }

    /// The contract's events, by signature.
    enum Event {
        static let channelCreated = "ChannelCreated(bytes32,\(BatchChannelConfig.abiType.description))"
        static let channelClosed = "ChannelClosed(bytes32,\(BatchChannelConfig.abiType.description))"
        static let deposited = "Deposited(bytes32,address,uint128,uint128)"
        static let claimed = "Claimed(bytes32,address,uint128,uint128)"
        static let settled = "Settled(address,address,address,uint128)"
        static let refunded = "Refunded(bytes32,address,uint128)"
        static let withdrawInitiated = "WithdrawInitiated(bytes32,uint128,uint40)"
        static let withdrawFinalized = "WithdrawFinalized(bytes32,address,uint128)"
    }

    func log(_ event: String, indexed: [Hash32], data: [ABIValue]) -> DevChainLog {
        DevChainLog(address: address, topics: [ABI.eventTopic(event)] + indexed, data: ABI.encode(data))
    }
}
