import EVM

/// The storage of Uniswap's Permit2 deployed natively at its canonical address: the
/// `SignatureTransfer` unordered nonces, `nonceBitmap[owner][word]`. (Its `AllowanceTransfer`
/// half is not implemented: x402 only uses signature transfers.) The x402 upto proxy beside it
/// holds no state.
struct Permit2State: Sendable, Hashable {
    let address: Address
    let domain: EIP712Domain
    var nonceBitmap: [Address: [UInt256: UInt256]] = [:]

    init(address: Address = Permit2.address, chainID: UInt64) {
        self.address = address
        self.domain = Permit2.domain(chainID: chainID, contract: address)
    }

    func bitmap(_ owner: Address, word: UInt256) -> UInt256 { nonceBitmap[owner]?[word] ?? .zero }

    /// Whether the unordered nonce is spent (or invalidated).
    func isUsed(_ owner: Address, _ nonce: UInt256) -> Bool {
        let (word, bit) = Permit2.nonceSlot(nonce)
        return !Self.and(bitmap(owner, word: word), bit).isZero
    }

    /// `_useUnorderedNonce`: flips the bit; false (and no change) when it was already set.
    mutating func use(_ owner: Address, _ nonce: UInt256) -> Bool {
        guard !isUsed(owner, nonce) else { return false }
        let (word, bit) = Permit2.nonceSlot(nonce)
        nonceBitmap[owner, default: [:]][word] = Self.or(bitmap(owner, word: word), bit)
        return true
    }

    /// `invalidateUnorderedNonces(word, mask)`: sets the mask's bits in the owner's word.
    mutating func invalidate(_ owner: Address, word: UInt256, mask: UInt256) {
        nonceBitmap[owner, default: [:]][word] = Self.or(bitmap(owner, word: word), mask)
    }

    // UInt256 has no bitwise operators; the bitmap is the only place that needs them.
    static func and(_ a: UInt256, _ b: UInt256) -> UInt256 { combine(a, b, &) }
    static func or(_ a: UInt256, _ b: UInt256) -> UInt256 { combine(a, b, |) }

    private static func combine(_ a: UInt256, _ b: UInt256, _ op: (UInt8, UInt8) -> UInt8) -> UInt256 {
        try! UInt256(bigEndian: zip(a.bigEndianBytes, b.bigEndianBytes).map { op($0, $1) })
    }

    enum Selector {
        static let permit = "((address,uint256),uint256,uint256)"
        static let details = "(address,uint256)"
        static let permitTransferFrom = ABI.selector("permitTransferFrom(\(permit),\(details),address,bytes)")
        static let permitWitnessTransferFrom = ABI.selector("permitWitnessTransferFrom(\(permit),\(details),address,bytes32,string,bytes)")
        static let nonceBitmap = ABI.selector("nonceBitmap(address,uint256)")
        static let invalidateUnorderedNonces = ABI.selector("invalidateUnorderedNonces(uint256,uint256)")
        static let domainSeparator = ABI.selector("DOMAIN_SEPARATOR()")
    }

    static let permitType = ABIType.tuple([.tuple([.address, .uint256]), .uint256, .uint256])
    static let detailsType = ABIType.tuple([.address, .uint256])

    /// `SignatureTransfer`'s and `SignatureVerification`'s custom errors.
    enum Failure {
        static let invalidAmount = "InvalidAmount(uint256)"
        static let signatureExpired = "SignatureExpired(uint256)"
        static let invalidNonce = "InvalidNonce()"
        static let invalidSignature = "InvalidSignature()"
        static let invalidSigner = "InvalidSigner()"
        static let invalidSignatureLength = "InvalidSignatureLength()"
        /// solmate's `SafeTransferLib.safeTransferFrom` when the token call fails.
        static let transferFromFailed = "TRANSFER_FROM_FAILED"
    }

    static let unorderedNonceInvalidation = ABI.eventTopic("UnorderedNonceInvalidation(address,uint256,uint256)")
}

/// `x402UptoPermit2Proxy`'s selectors, custom errors and events.
enum UptoProxy {
    static let settle = ABI.selector(UptoPermit.settleSignature)
    static let permit2 = ABI.selector("permit2()")
    static let witnessTypeString = ABI.selector("WITNESS_TYPE_STRING()")
    static let witnessTypeHash = ABI.selector("WITNESS_TYPEHASH()")

    enum Failure {
        static let amountExceedsPermitted = "AmountExceedsPermitted()"
        static let invalidAmount = "InvalidAmount()"
        static let invalidOwner = "InvalidOwner()"
        static let invalidDestination = "InvalidDestination()"
        static let unauthorizedFacilitator = "UnauthorizedFacilitator()"
        static let paymentTooEarly = "PaymentTooEarly()"
    }

    static let settled = ABI.eventTopic("Settled()")
}
