/// x402's `batch-settlement` scheme on EVM: the `x402BatchSettlement` contract's addresses, EIP-712
/// domain and the digests its payer and receiver authorizers sign.
public enum BatchSettlement {
    /// `x402BatchSettlement`, at the same CREATE2 address on every chain.
    public static let address = try! Address("0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003")
    /// The collector pulling deposits with ERC-3009 `receiveWithAuthorization`.
    public static let erc3009DepositCollector = try! Address("0x4020806089470a89826cB9fB1f4059150b550004")
    /// The collector pulling deposits with a Permit2 witness transfer.
    public static let permit2DepositCollector = try! Address("0x4020425FAf3B746C082C2f942b4E5159887B0005")

    /// Bounds of a channel's `withdrawDelay`, in seconds (15 minutes to 30 days).
    public static let withdrawDelayRange: ClosedRange<UInt64> = 900...2_592_000

    /// The largest `uint128`: balances and claims are `uint128` on chain.
    public static let maxAmount = try! UInt256(hex: "0xffffffffffffffffffffffffffffffff")

    /// `EIP712Domain("x402 Batch Settlement", "1", chainId, x402BatchSettlement)`.
    public static func domain(chainID: UInt64, contract: Address = address) -> TokenDomain {
        TokenDomain(name: "x402 Batch Settlement", version: "1", chainID: UInt256(chainID), verifyingContract: contract)
    }

    public static let voucherTypeHash = Keccak256.hash("Voucher(bytes32 channelId,uint128 maxClaimableAmount)")
    public static let refundTypeHash = Keccak256.hash("Refund(bytes32 channelId,uint256 nonce,uint128 amount)")
    public static let claimEntryTypeHash = Keccak256.hash("ClaimEntry(bytes32 channelId,uint128 maxClaimableAmount,uint128 totalClaimed)")
    public static let claimBatchTypeHash = Keccak256.hash(
        "ClaimBatch(ClaimEntry[] claims)ClaimEntry(bytes32 channelId,uint128 maxClaimableAmount,uint128 totalClaimed)")

    /// The digest a payer (authorizer) signs to let the receiver claim up to `maxClaimableAmount`.
    public static func voucherDigest(channelID: Hash32, maxClaimableAmount: UInt256, domain: TokenDomain) -> Hash32 {
        digest(domain, [.bytes32(voucherTypeHash), .bytes32(channelID), .uint(maxClaimableAmount)])
    }

    /// The digest the receiver authorizer signs for a cooperative refund at `nonce`.
    public static func refundDigest(channelID: Hash32, nonce: UInt256, amount: UInt256, domain: TokenDomain) -> Hash32 {
        digest(domain, [.bytes32(refundTypeHash), .bytes32(channelID), .uint(nonce), .uint(amount)])
    }

    /// One row of a claim batch: the channel, the voucher's ceiling and the cumulative amount claimed.
    public struct ClaimEntry: Sendable, Hashable {
        public var channelID: Hash32
        public var maxClaimableAmount: UInt256
        public var totalClaimed: UInt256

        public init(channelID: Hash32, maxClaimableAmount: UInt256, totalClaimed: UInt256) {
            self.channelID = channelID
            self.maxClaimableAmount = maxClaimableAmount
            self.totalClaimed = totalClaimed
        }
    }

    /// The digest the receiver authorizer signs for `claimWithSignature`.
    public static func claimBatchDigest(_ entries: [ClaimEntry], domain: TokenDomain) -> Hash32 {
        var hashes: [UInt8] = []
        for entry in entries {
            hashes +=
                Keccak256.hash(
                    ABI.encode([
                        .bytes32(claimEntryTypeHash), .bytes32(entry.channelID), .uint(entry.maxClaimableAmount), .uint(entry.totalClaimed),
                    ])
                ).bytes
        }
        return digest(domain, [.bytes32(claimBatchTypeHash), .bytes32(Keccak256.hash(hashes))])
    }

    /// The ERC-3009 nonce the deposit collector uses: `keccak256(abi.encode(channelId, salt))`.
    public static func erc3009DepositNonce(channelID: Hash32, salt: UInt256) -> Hash32 {
        Keccak256.hash(ABI.encode([.bytes32(channelID), .uint(salt)]))
    }

    private static func digest(_ domain: TokenDomain, _ fields: [ABIValue]) -> Hash32 {
        EIP712.digest(domainSeparator: domain.separator, structHash: Keccak256.hash(ABI.encode(fields)))
    }
}
