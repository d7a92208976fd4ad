/// pympp's fee payer envelope: a sender-signed, sponsored Tempo transaction handed to its fee payer.
///
/// `0x78 ‖ rlp([…ten leading fields, fee_token?, sender_address, aa_authorization_list,
/// key_authorization?, sender_signature])`: the sender's address takes the fee payer signature's slot.
/// Not broadcastable; the fee payer co-signs it into a `0x76` transaction.
public struct TempoFeePayerEnvelope: Sendable, Hashable {
    /// The transaction, with ``TempoTransaction/isSponsored`` set.
    public var transaction: TempoTransaction
    /// The sender the envelope names.
    public var sender: Address
    public var senderSignature: TempoSignature

    public init(transaction: TempoTransaction, sender: Address, senderSignature: TempoSignature) {
        self.transaction = transaction
        self.sender = sender
        self.senderSignature = senderSignature
    }

    /// Wraps a sponsored transaction signed by its sender.
    ///
    /// - Throws: ``EVMError/Code/invalidTransaction`` for an unsponsored one, and the errors of
    ///   ``SignedTempoTransaction/recoverSender()``.
    public init(_ signed: SignedTempoTransaction) throws(EVMError) {
        guard signed.transaction.isSponsored else { throw EVMError(.invalidTransaction, "the sender did not sign for a fee payer") }
        self.init(transaction: signed.transaction, sender: try signed.recoverSender(), senderSignature: signed.senderSignature)
    }

    public var rawBytes: [UInt8] {
        let t = transaction
        let items = t.headItems + [.bytes(t.feeToken?.bytes ?? []), .address(sender)] + t.tailItems + [.bytes(senderSignature.bytes)]
        return [TempoTransaction.feePayerTypeByte] + RLP.encode(.list(items))
    }

    public var rawHex: String { Hex.encode(rawBytes) }

    /// Decodes `0x78 ‖ rlp(…)`.
    ///
    /// - Throws: ``EVMError/Code/invalidTransaction``, ``EVMError/Code/invalidRLP``, signature errors.
    public init(raw: some Collection<UInt8>) throws(EVMError) {
        guard raw.first == TempoTransaction.feePayerTypeByte else {
            throw EVMError(.invalidTransaction, "not a fee payer envelope (0x78)")
        }
        let items = try RLP.decode(raw.dropFirst()).listValue()
        guard items.count == 14 || items.count == 15 else {
            throw EVMError(.invalidTransaction, "a fee payer envelope has 14 or 15 fields, got \(items.count)")
        }
        transaction = try TempoTransaction(
            head: items, feeToken: try TempoTransaction.optionalAddress(items[10], "fee_token"), isSponsored: true,
            tail: items[12..<(items.count - 1)])
        sender = try items[11].addressValue()
        senderSignature = try TempoSignature(bytes: items[items.count - 1].bytesValue())
    }

    public init(rawHex: some StringProtocol) throws(EVMError) {
        try self.init(raw: Hex.decode(rawHex))
    }

    /// The signed transaction, still without its fee payer signature.
    public var signed: SignedTempoTransaction { SignedTempoTransaction(transaction: transaction, senderSignature: senderSignature) }

    /// Checks that the signature recovers the named sender, then co-signs as `key` paying in `feeToken`.
    ///
    /// - Throws: ``EVMError/Code/invalidSignature`` when the signature recovers another address.
    public func cosigned(by key: PrivateKey, feeToken: Address) throws(EVMError) -> SignedTempoTransaction {
        let recovered = try signed.recoverSender()
        guard recovered == sender else {
            throw EVMError(.invalidSignature, "the sender signature recovers \(recovered), not the envelope's sender \(sender)")
        }
        return try signed.cosigned(by: key, feeToken: feeToken)
    }
}
