/// A signed transaction of either supported kind, as a node receives it.
public enum SignedTransaction: Sendable, Hashable {
    case legacy(SignedLegacyTransaction)
    case eip1559(SignedEIP1559Transaction)
    /// A Tempo (type `0x76`) transaction.
    case tempo(SignedTempoTransaction)

    /// Decodes raw bytes: an RLP list is a legacy transaction, a leading `0x02` a type 2 one,
    /// `0x76` a Tempo one.
    ///
    /// - Throws: ``EVMError/Code/invalidTransaction`` for other types (EIP-2930, blobs…) and the
    ///   errors of the decoders.
    public init(raw: some Collection<UInt8>) throws(EVMError) {
        guard let first = raw.first else { throw EVMError(.invalidTransaction, "empty transaction") }
        switch first {
        case 0xc0...0xff: self = .legacy(try SignedLegacyTransaction(raw: raw))
        case EIP1559Transaction.typeByte: self = .eip1559(try SignedEIP1559Transaction(raw: raw))
        case TempoTransaction.typeByte: self = .tempo(try SignedTempoTransaction(raw: raw))
        default: throw EVMError(.invalidTransaction, "unsupported transaction type \(first)")
        }
    }

    /// The transaction hash.
    public var hash: Hash32 {
        switch self {
        case .legacy(let tx): tx.hash
        case .eip1559(let tx): tx.hash
        case .tempo(let tx): tx.hash
        }
    }

    /// The sender.
    public func recoverSender() throws(EVMError) -> Address {
        switch self {
        case .legacy(let tx): try tx.recoverSender()
        case .eip1559(let tx): try tx.recoverSender()
        case .tempo(let tx): try tx.recoverSender()
        }
    }
}
