import EVM

/// One MPP session escrow deployed natively on the Tempo network: v1 (`TempoStreamChannel`) or v2
/// (the TIP-1034 reserve), with its channels.
struct ChannelEscrowState: Sendable, Hashable {
    let version: TempoChannelEscrow
    let address: Address
    let domain: TokenDomain
    var channels: [Hash32: Channel] = [:]

    /// A channel's identity and state. v1 channels have a zero operator and expiring-nonce hash.
    struct Channel: Sendable, Hashable {
        var descriptor: TempoChannelDescriptor
        var deposit: UInt256
        var settled: UInt256 = .zero
        var closeRequestedAt: UInt64 = 0
        /// v1 keeps finalized channels; v2 deletes them.
        var finalized = false
    }

    /// Seconds between `requestClose` and the earliest `withdraw` (15 minutes).
    static let closeGracePeriod: UInt64 = 900

    init(version: TempoChannelEscrow, address: Address, chainID: UInt64) {
        self.version = version
        self.address = address
        self.domain = version.domain(chainID: chainID, escrow: address)
    }

    /// Who calls, when, and the calling transaction's expiring-nonce hash (v2 `open` binds it).
    struct CallContext: Sendable {
        var sender: Address
        var timestamp: UInt64
        var chainID: UInt64
        var expiringNonceHash: Hash32?
    }

    enum Selector {
        static let v1Open = ABI.selector("open(address,address,uint128,bytes32,address)")
        static let v1Settle = ABI.selector("settle(bytes32,uint128,bytes)")
        static let v1TopUp = ABI.selector("topUp(bytes32,uint128)")
        static let v1Close = ABI.selector("close(bytes32,uint128,bytes)")
        static let v1RequestClose = ABI.selector("requestClose(bytes32)")
        static let v1Withdraw = ABI.selector("withdraw(bytes32)")
        static let v1GetChannel = ABI.selector("getChannel(bytes32)")
        static let v1ComputeChannelID = ABI.selector("computeChannelId(address,address,address,bytes32,address)")
        static let v1VoucherDigest = ABI.selector("getVoucherDigest(bytes32,uint128)")

        static let descriptor = "(address,address,address,address,bytes32,address,bytes32)"
        static let v2Open = ABI.selector("open(address,address,address,uint96,bytes32,address)")
        static let v2Settle = ABI.selector("settle(\(descriptor),uint96,bytes)")
        static let v2TopUp = ABI.selector("topUp(\(descriptor),uint96)")
        static let v2Close = ABI.selector("close(\(descriptor),uint96,uint96,bytes)")
        static let v2RequestClose = ABI.selector("requestClose(\(descriptor))")
        static let v2Withdraw = ABI.selector("withdraw(\(descriptor))")
        static let v2GetChannel = ABI.selector("getChannel(\(descriptor))")
        static let v2GetChannelState = ABI.selector("getChannelState(bytes32)")
        static let v2ComputeChannelID = ABI.selector("computeChannelId(address,address,address,address,bytes32,address,bytes32)")
        static let v2VoucherDigest = ABI.selector("getVoucherDigest(bytes32,uint96)")

        static let domainSeparator = ABI.selector("domainSeparator()")
        static let closeGracePeriod = ABI.selector("CLOSE_GRACE_PERIOD()")
        static let voucherTypeHash = ABI.selector("VOUCHER_TYPEHASH()")
    }

    /// The custom errors of both escrows.
    enum Failure {
        static let channelAlreadyExists = "ChannelAlreadyExists()"
        static let channelNotFound = "ChannelNotFound()"
        static let channelFinalized = "ChannelFinalized()"
        static let invalidSignature = "InvalidSignature()"
        static let amountExceedsDeposit = "AmountExceedsDeposit()"
        static let amountNotIncreasing = "AmountNotIncreasing()"
        static let notPayer = "NotPayer()"
        static let notPayee = "NotPayee()"
        static let notPayeeOrOperator = "NotPayeeOrOperator()"
        static let invalidPayee = "InvalidPayee()"
        static let zeroDeposit = "ZeroDeposit()"
        static let expiringNonceHashNotSet = "ExpiringNonceHashNotSet()"
        static let captureAmountInvalid = "CaptureAmountInvalid()"
        static let depositOverflow = "DepositOverflow()"
        static let transferFailed = "TransferFailed()"
        static let closeNotReady = "CloseNotReady()"
    }

    func log(_ event: TempoChannelEvent, _ channel: Channel, id: Hash32, data: [ABIValue]) -> DevChainLog {
        DevChainLog(
            address: address, topics: [version.topic(of: event), id, channel.descriptor.payer.word, channel.descriptor.payee.word],
            data: ABI.encode(data))
    }

    /// Whether `signature` is a voucher for `cumulativeAmount` on the channel by its expected signer.
    func voucherIsValid(_ channel: Channel, id: Hash32, cumulativeAmount: UInt256, signature: [UInt8]) -> Bool {
        let digest = version.voucherDigest(channelID: id, cumulativeAmount: cumulativeAmount, domain: domain)
        guard let signer = try? TempoChannelEscrow.recoverVoucherSigner(signature, digest: digest) else { return false }
        return signer == channel.descriptor.expectedSigner
    }
}
