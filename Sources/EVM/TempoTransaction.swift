/// A Tempo transaction (EIP-2718 type `0x76`) before signing.
///
/// `0x76 ‖ rlp([chain_id, max_priority_fee_per_gas, max_fee_per_gas, gas_limit, calls, access_list,
/// nonce_key, nonce, valid_before, valid_after, fee_token, fee_payer_signature, aa_authorization_list,
/// key_authorization?, sender_signature])`, as Tempo's spec and pytempo 0.6 encode it. Absent optional
/// fields are empty strings.
///
/// A sponsored transaction (``isSponsored``) is signed by its sender without the fee token and with a
/// one-byte `0x00` placeholder where the fee payer's signature goes; the fee payer then signs the
/// `0x78` preimage, which names the sender and the fee token it picked.
public struct TempoTransaction: Sendable, Hashable {
    /// The EIP-2718 type byte.
    public static let typeByte: UInt8 = 0x76
    /// The magic byte of the fee payer's preimage and of pympp's fee payer envelope.
    public static let feePayerTypeByte: UInt8 = 0x78
    /// The `nonce_key` of an expiring nonce (TIP-1009): replay protection by hash until `valid_before`.
    public static let expiringNonceKey = UInt256.max

    public var chainID: UInt64
    public var maxPriorityFeePerGas: UInt256
    public var maxFeePerGas: UInt256
    public var gasLimit: UInt64
    /// The batch, executed atomically: one reverting call reverts them all.
    public var calls: [TempoCall]
    public var accessList: [AccessListEntry]
    /// The nonce lane: 0 is the protocol nonce, others parallel lanes, ``expiringNonceKey`` expiring.
    public var nonceKey: UInt256
    public var nonce: UInt64
    /// Unix seconds; the transaction is invalid from then on.
    public var validBefore: UInt64?
    /// Unix seconds; the transaction is invalid until then.
    public var validAfter: UInt64?
    /// The TIP-20 token fees are paid in; for a sponsored transaction, the one the fee payer chose.
    public var feeToken: Address?
    /// Whether a fee payer pays the fees (changes the sender's preimage).
    public var isSponsored: Bool
    /// `aa_authorization_list` entries, kept as received (not interpreted here).
    public var authorizationList: [RLPItem]
    /// A signed key authorization (access keys), kept as received.
    public var keyAuthorization: RLPItem?

    public init(
        chainID: UInt64, maxPriorityFeePerGas: UInt256, maxFeePerGas: UInt256, gasLimit: UInt64, calls: [TempoCall],
        accessList: [AccessListEntry] = [], nonceKey: UInt256 = .zero, nonce: UInt64 = 0, validBefore: UInt64? = nil,
        validAfter: UInt64? = nil, feeToken: Address? = nil, isSponsored: Bool = false, authorizationList: [RLPItem] = [],
        keyAuthorization: RLPItem? = nil
    ) {
        self.chainID = chainID
        self.maxPriorityFeePerGas = maxPriorityFeePerGas
        self.maxFeePerGas = maxFeePerGas
        self.gasLimit = gasLimit
        self.calls = calls
        self.accessList = accessList
        self.nonceKey = nonceKey
        self.nonce = nonce
        self.validBefore = validBefore
        self.validAfter = validAfter
        self.feeToken = feeToken
        self.isSponsored = isSponsored
        self.authorizationList = authorizationList
        self.keyAuthorization = keyAuthorization
    }

    /// Whether the nonce is an expiring one.
    public var usesExpiringNonce: Bool { nonceKey == Self.expiringNonceKey }

    private static func optional(_ value: UInt64?) -> RLPItem { value.map { .uint(UInt256($0)) } ?? .bytes([]) }

    /// The first ten fields, shared by every encoding.
    var headItems: [RLPItem] {
        [
            .uint(UInt256(chainID)), .uint(maxPriorityFeePerGas), .uint(maxFeePerGas), .uint(UInt256(gasLimit)), .list(calls.map(\.rlp)),
            .list(accessList.map(\.rlp)), .uint(nonceKey), .uint(UInt256(nonce)), Self.optional(validBefore), Self.optional(validAfter),
        ]
    }

    var tailItems: [RLPItem] { [.list(authorizationList)] + (keyAuthorization.map { [$0] } ?? []) }

    /// The bytes the sender signs: `0x76 ‖ rlp([…, fee_token or empty when sponsored, 0x00 when
    /// sponsored else empty, aa_authorization_list, key_authorization?])`.
    public var senderPreimage: [UInt8] {
        let items =
            headItems + [isSponsored ? .bytes([]) : .bytes(feeToken?.bytes ?? []), .bytes(isSponsored ? [0x00] : [])] + tailItems
        return [Self.typeByte] + RLP.encode(.list(items))
    }

    /// keccak256 of ``senderPreimage``.
    public var senderSigningHash: Hash32 { Keccak256.hash(senderPreimage) }

    /// The bytes the fee payer signs: `0x78 ‖ rlp([…, fee_token, sender, aa_authorization_list,
    /// key_authorization?])`.
    public func feePayerPreimage(sender: Address) -> [UInt8] {
        let items = headItems + [.bytes(feeToken?.bytes ?? []), .address(sender)] + tailItems
        return [Self.feePayerTypeByte] + RLP.encode(.list(items))
    }

    /// keccak256 of ``feePayerPreimage(sender:)``.
    public func feePayerSigningHash(sender: Address) -> Hash32 { Keccak256.hash(feePayerPreimage(sender: sender)) }

    /// Signs as the sender (secp256k1). A sponsored transaction still needs its fee payer's signature
    /// (``SignedTempoTransaction/cosigned(by:feeToken:)``) before it can be sent.
    public func signed(with key: PrivateKey) -> SignedTempoTransaction {
        SignedTempoTransaction(transaction: self, senderSignature: .secp256k1(key.sign(digest: senderSigningHash)))
    }

    /// Reads the ten leading fields of a `0x76` or `0x78` list.
    init(head items: [RLPItem], feeToken: Address?, isSponsored: Bool, tail: ArraySlice<RLPItem>) throws(EVMError) {
        func optional(_ item: RLPItem) throws(EVMError) -> UInt64? {
            try item.bytesValue().isEmpty ? nil : try item.uint64Value()
        }
        let calls = try items[4].listValue().map { item throws(EVMError) in try TempoCall(rlp: item) }
        guard !calls.isEmpty else { throw EVMError(.invalidTransaction, "a Tempo transaction needs at least one call") }
        self.init(
            chainID: try items[0].uint64Value(), maxPriorityFeePerGas: try items[1].uint256Value(),
            maxFeePerGas: try items[2].uint256Value(), gasLimit: try items[3].uint64Value(), calls: calls,
            accessList: try items[5].listValue().map { entry throws(EVMError) in try AccessListEntry(rlp: entry) },
            nonceKey: try items[6].uint256Value(), nonce: try items[7].uint64Value(), validBefore: try optional(items[8]),
            validAfter: try optional(items[9]), feeToken: feeToken, isSponsored: isSponsored,
            authorizationList: try tail[tail.startIndex].listValue(),
            keyAuthorization: tail.count > 1 ? tail[tail.startIndex + 1] : nil)
    }

    /// An empty string or a 20-byte address.
    static func optionalAddress(_ item: RLPItem, _ name: String) throws(EVMError) -> Address? {
        let bytes = try item.bytesValue()
        guard bytes.isEmpty || bytes.count == 20 else { throw EVMError(.invalidTransaction, "`\(name)` must be empty or 20 bytes") }
        return bytes.isEmpty ? nil : try Address(bytes: bytes)
    }
}
