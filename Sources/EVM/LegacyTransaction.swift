/// A legacy (pre-EIP-2718) transaction, optionally replay-protected with an EIP-155 chain id.
public struct LegacyTransaction: Sendable, Hashable {
    public var nonce: UInt64
    public var gasPrice: UInt256
    public var gasLimit: UInt64
    /// The recipient; nil creates a contract.
    public var to: Address?
    public var value: UInt256
    public var data: [UInt8]
    /// The EIP-155 chain id; nil for an unprotected (pre-EIP-155) transaction.
    public var chainID: UInt64?

    public init(
        nonce: UInt64, gasPrice: UInt256, gasLimit: UInt64, to: Address?, value: UInt256 = .zero, data: [UInt8] = [], chainID: UInt64?
    ) {
        self.nonce = nonce
        self.gasPrice = gasPrice
        self.gasLimit = gasLimit
        self.to = to
        self.value = value
        self.data = data
        self.chainID = chainID
    }

    var unsignedItems: [RLPItem] {
        [.uint(UInt256(nonce)), .uint(gasPrice), .uint(UInt256(gasLimit)), .bytes(to?.bytes ?? []), .uint(value), .bytes(data)]
    }

    /// keccak256(rlp([nonce, gasPrice, gas, to, value, data] + [chainId, 0, 0] under EIP-155)).
    public var signingHash: Hash32 {
        var items = unsignedItems
        if let chainID { items += [.uint(UInt256(chainID)), .bytes([]), .bytes([])] }
        return Keccak256.hash(RLP.encode(.list(items)))
    }

    /// Signs the transaction.
    public func signed(with key: PrivateKey) -> SignedLegacyTransaction {
        SignedLegacyTransaction(transaction: self, signature: key.sign(digest: signingHash))
    }
}

/// A signed legacy transaction.
public struct SignedLegacyTransaction: Sendable, Hashable {
    public var transaction: LegacyTransaction
    public var signature: Signature

    public init(transaction: LegacyTransaction, signature: Signature) {
        self.transaction = transaction
        self.signature = signature
    }

    /// `v` as encoded: `chainId * 2 + 35 + recoveryID` under EIP-155, else `27 + recoveryID`.
    public var v: UInt256 {
        guard let chainID = transaction.chainID else { return UInt256(27 + UInt64(signature.recoveryID)) }
        return UInt256(chainID).multipliedReportingOverflow(by: 2).partialValue + UInt256(35 + UInt64(signature.recoveryID))
    }

    /// rlp([nonce, gasPrice, gas, to, value, data, v, r, s]).
    public var rawBytes: [UInt8] {
        RLP.encode(.list(transaction.unsignedItems + [.uint(v), .uint(signature.r.uint256), .uint(signature.s.uint256)]))
    }

    /// The transaction hash: keccak256 of the raw bytes.
    public var hash: Hash32 { Keccak256.hash(rawBytes) }

    /// Decodes raw bytes (an RLP list of nine items).
    ///
    /// - Throws: ``EVMError/Code/invalidTransaction``, ``EVMError/Code/invalidRLP``,
    ///   ``EVMError/Code/invalidRecoveryID`` or ``EVMError/Code/invalidSignature``.
    public init(raw: some Collection<UInt8>) throws(EVMError) {
        let items = try RLP.decode(raw).listValue()
        guard items.count == 9 else { throw EVMError(.invalidTransaction, "a legacy transaction has 9 fields, got \(items.count)") }
        let toBytes = try items[3].bytesValue()
        guard toBytes.isEmpty || toBytes.count == 20 else { throw EVMError(.invalidTransaction, "`to` must be empty or 20 bytes") }
        let v = try items[6].uint256Value()
        let chainID: UInt64?
        let recoveryID: UInt8
        if v == 27 || v == 28 {
            chainID = nil
            recoveryID = UInt8(v.uint64! - 27)
        } else if v >= 37, let vv = v.uint64 {
            chainID = (vv - 35) / 2
            recoveryID = UInt8((vv - 35) % 2)
        } else {
            throw EVMError(.invalidRecoveryID, "legacy v must be 27, 28 or chainId * 2 + 35/36, got \(v)")
        }
        transaction = LegacyTransaction(
            nonce: try items[0].uint64Value(), gasPrice: try items[1].uint256Value(), gasLimit: try items[2].uint64Value(),
            to: toBytes.isEmpty ? nil : try Address(bytes: toBytes), value: try items[4].uint256Value(), data: try items[5].bytesValue(),
            chainID: chainID
        )
        signature = try Signature(r: items[7].uint256Value().word, s: items[8].uint256Value().word, v: recoveryID)
    }

    /// Decodes `0x`-prefixed hex of the raw bytes.
    public init(rawHex: some StringProtocol) throws(EVMError) {
        try self.init(raw: Hex.decode(rawHex))
    }

    /// The sender. High-s is rejected (EIP-2).
    public func recoverSender() throws(EVMError) -> Address {
        try signature.recoverAddress(from: transaction.signingHash)
    }
}
