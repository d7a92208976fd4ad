/// An EIP-1559 (type 2) transaction before signing.
public struct EIP1559Transaction: Sendable, Hashable {
    /// The EIP-2718 type byte.
    public static let typeByte: UInt8 = 0x02

    public var chainID: UInt64
    public var nonce: UInt64
    public var maxPriorityFeePerGas: UInt256
    public var maxFeePerGas: UInt256
    public var gasLimit: UInt64
    /// The recipient; nil creates a contract.
    public var to: Address?
    public var value: UInt256
    public var data: [UInt8]
    public var accessList: [AccessListEntry]

    public init(
        chainID: UInt64, nonce: UInt64, maxPriorityFeePerGas: UInt256, maxFeePerGas: UInt256, gasLimit: UInt64, to: Address?,
        value: UInt256 = .zero, data: [UInt8] = [], accessList: [AccessListEntry] = []
    ) {
        self.chainID = chainID
        self.nonce = nonce
        self.maxPriorityFeePerGas = maxPriorityFeePerGas
        self.maxFeePerGas = maxFeePerGas
        self.gasLimit = gasLimit
        self.to = to
        self.value = value
        self.data = data
        self.accessList = accessList
    }

    var unsignedItems: [RLPItem] {
        [
            .uint(UInt256(chainID)), .uint(UInt256(nonce)), .uint(maxPriorityFeePerGas), .uint(maxFeePerGas), .uint(UInt256(gasLimit)),
            .bytes(to?.bytes ?? []), .uint(value), .bytes(data), .list(accessList.map(\.rlp)),
        ]
    }

    /// keccak256(0x02 ‖ rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value, data, accessList])).
    public var signingHash: Hash32 { Keccak256.hash([Self.typeByte] + RLP.encode(.list(unsignedItems))) }

    /// Signs the transaction.
    public func signed(with key: PrivateKey) -> SignedEIP1559Transaction {
        SignedEIP1559Transaction(transaction: self, signature: key.sign(digest: signingHash))
    }
}

/// A signed EIP-1559 transaction: what `eth_sendRawTransaction` takes.
public struct SignedEIP1559Transaction: Sendable, Hashable {
    public var transaction: EIP1559Transaction
    /// The signature; its recovery id is the transaction's `yParity`.
    public var signature: Signature

    public init(transaction: EIP1559Transaction, signature: Signature) {
        self.transaction = transaction
        self.signature = signature
    }

    /// 0x02 ‖ rlp([…, yParity, r, s]).
    public var rawBytes: [UInt8] {
        let items =
            transaction.unsignedItems + [
                .uint(UInt256(UInt64(signature.recoveryID))), .uint(signature.r.uint256), .uint(signature.s.uint256),
            ]
        return [EIP1559Transaction.typeByte] + RLP.encode(.list(items))
    }

    /// ``rawBytes`` as `0x`-prefixed hex.
    public var rawHex: String { Hex.encode(rawBytes) }

    /// The transaction hash: keccak256 of the raw bytes.
    public var hash: Hash32 { Keccak256.hash(rawBytes) }

    /// Decodes raw bytes (`0x02 ‖ rlp(…)`).
    ///
    /// Decoding is canonical (see ``RLP/decode(_:)``), so ``rawBytes`` of the result equals the input.
    ///
    /// - Throws: ``EVMError/Code/invalidTransaction`` or ``EVMError/Code/invalidRLP`` for malformed
    ///   input, the errors of ``Signature/init(r:s:v:)`` for an invalid signature.
    public init(raw: some Collection<UInt8>) throws(EVMError) {
        guard raw.first == EIP1559Transaction.typeByte else {
            throw EVMError(.invalidTransaction, "not a type 2 transaction (first byte \(raw.first.map { String($0) } ?? "none"))")
        }
        let items = try RLP.decode(raw.dropFirst()).listValue()
        guard items.count == 12 else { throw EVMError(.invalidTransaction, "a type 2 transaction has 12 fields, got \(items.count)") }
        let toBytes = try items[5].bytesValue()
        guard toBytes.isEmpty || toBytes.count == 20 else { throw EVMError(.invalidTransaction, "`to` must be empty or 20 bytes") }
        transaction = EIP1559Transaction(
            chainID: try items[0].uint64Value(), nonce: try items[1].uint64Value(), maxPriorityFeePerGas: try items[2].uint256Value(),
            maxFeePerGas: try items[3].uint256Value(), gasLimit: try items[4].uint64Value(),
            to: toBytes.isEmpty ? nil : try Address(bytes: toBytes), value: try items[6].uint256Value(), data: try items[7].bytesValue(),
            accessList: try items[8].listValue().map { entry throws(EVMError) in try AccessListEntry(rlp: entry) }
        )
        let yParity = try items[9].uint64Value()
        guard yParity <= 1 else { throw EVMError(.invalidRecoveryID, "yParity must be 0 or 1, got \(yParity)") }
        signature = try Signature(r: items[10].uint256Value().word, s: items[11].uint256Value().word, v: UInt8(yParity))
    }

    /// Decodes `0x`-prefixed hex of the raw bytes.
    public init(rawHex: some StringProtocol) throws(EVMError) {
        try self.init(raw: Hex.decode(rawHex))
    }

    /// The sender: the address that signed ``EIP1559Transaction/signingHash``. High-s is rejected (EIP-2).
    ///
    /// - Throws: ``EVMError/Code/highS`` or ``EVMError/Code/recoveryFailed``.
    public func recoverSender() throws(EVMError) -> Address {
        try signature.recoverAddress(from: transaction.signingHash)
    }
}
