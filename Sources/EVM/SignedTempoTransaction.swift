/// A signed Tempo transaction: what `eth_sendRawTransaction` takes on a Tempo chain.
public struct SignedTempoTransaction: Sendable, Hashable {
    public var transaction: TempoTransaction {
        didSet { decodedSenderPreimage = nil }
    }
    public var senderSignature: TempoSignature
    /// The fee payer's signature over ``TempoTransaction/feePayerSigningHash(sender:)``; present
    /// exactly when the transaction is sponsored.
    public var feePayerSignature: Signature?
    /// The sender preimage cut from the decoded bytes, so that recovering the sender of a received
    /// transaction does not encode it again (the verification hot path); dropped when
    /// ``transaction`` changes.
    private var decodedSenderPreimage: [UInt8]?

    public init(transaction: TempoTransaction, senderSignature: TempoSignature, feePayerSignature: Signature? = nil) {
        self.transaction = transaction
        self.senderSignature = senderSignature
        self.feePayerSignature = feePayerSignature
    }

    public static func == (lhs: SignedTempoTransaction, rhs: SignedTempoTransaction) -> Bool {
        lhs.transaction == rhs.transaction && lhs.senderSignature == rhs.senderSignature && lhs.feePayerSignature == rhs.feePayerSignature
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(transaction)
        hasher.combine(senderSignature)
        hasher.combine(feePayerSignature)
    }

    /// `0x76 ‖ rlp([…, fee_token, [yParity, r, s] or empty, aa_authorization_list, key_authorization?,
    /// sender_signature])`, with a secp256k1 sender `v` of 27 or 28 (the form Tempo nodes hash).
    public var rawBytes: [UInt8] {
        let t = transaction
        let feePayer: RLPItem =
            feePayerSignature.map { .list([.uint(UInt256(UInt64($0.recoveryID))), .uint($0.r.uint256), .uint($0.s.uint256)]) }
            ?? .bytes([])
        let items = t.headItems + [.bytes(t.feeToken?.bytes ?? []), feePayer] + t.tailItems + [.bytes(senderSignature.bytes)]
        return [TempoTransaction.typeByte] + RLP.encode(.list(items))
    }

    /// ``rawBytes`` as `0x`-prefixed hex.
    public var rawHex: String { Hex.encode(rawBytes) }

    /// The transaction hash: keccak256 of ``rawBytes``.
    public var hash: Hash32 { Keccak256.hash(rawBytes) }

    /// Decodes `0x76 ‖ rlp(…)`.
    ///
    /// A secp256k1 sender `v` of 0 or 1 is accepted and re-encoded as 27 or 28, so ``rawBytes`` is the
    /// canonical form and ``hash`` the hash a Tempo node reports.
    ///
    /// - Throws: ``EVMError/Code/invalidTransaction`` (wrong type byte, field count or shape),
    ///   ``EVMError/Code/invalidRLP``, the signature errors of ``Signature``.
    public init(raw: some Collection<UInt8>) throws(EVMError) {
        guard raw.first == TempoTransaction.typeByte else {
            throw EVMError(.invalidTransaction, "not a Tempo (0x76) transaction (first byte \(raw.first.map { String($0) } ?? "none"))")
        }
        let items = try RLP.decode(raw.dropFirst()).listValue()
        guard items.count == 14 || items.count == 15 else {
            throw EVMError(.invalidTransaction, "a Tempo transaction has 14 or 15 fields, got \(items.count)")
        }
        var feePayer: Signature?
        switch items[11] {
        case .bytes(let bytes):
            guard bytes.isEmpty else { throw EVMError(.invalidTransaction, "fee_payer_signature must be empty or [yParity, r, s]") }
        case .list(let parts):
            guard parts.count == 3 else { throw EVMError(.invalidTransaction, "fee_payer_signature must be [yParity, r, s]") }
            let yParity = try parts[0].uint64Value()
            guard yParity <= 1 else { throw EVMError(.invalidRecoveryID, "fee payer yParity must be 0 or 1, got \(yParity)") }
            feePayer = try Signature(r: parts[1].uint256Value().word, s: parts[2].uint256Value().word, v: UInt8(yParity))
        }
        transaction = try TempoTransaction(
            head: items, feeToken: try TempoTransaction.optionalAddress(items[10], "fee_token"), isSponsored: feePayer != nil,
            tail: items[12..<(items.count - 1)])
        senderSignature = try TempoSignature(bytes: items[items.count - 1].bytesValue())
        feePayerSignature = feePayer
        decodedSenderPreimage = Self.senderPreimage(raw: Array(raw), sponsored: feePayer != nil)
    }

    /// `0x76 ‖ rlp(fields without the signature)`, with the fee token and fee payer slots blanked as
    /// the sender signs them when sponsored, cut from canonical raw bytes already decoded.
    static func senderPreimage(raw: [UInt8], sponsored: Bool) -> [UInt8] {
        // Offsets of the top-level items: the input is canonical RLP, checked by the decoder.
        func header(_ at: Int) -> (payload: Int, length: Int) {
            let prefix = raw[at]
            func long(_ count: Int) -> (Int, Int) {
                (at + 1 + count, raw[(at + 1)...(at + count)].reduce(0) { $0 << 8 | Int($1) })
            }
            switch prefix {
            case 0x00...0x7f: return (at, 1)
            case 0x80...0xb7: return (at + 1, Int(prefix - 0x80))
            case 0xb8...0xbf: return long(Int(prefix - 0xb7))
            case 0xc0...0xf7: return (at + 1, Int(prefix - 0xc0))
            default: return long(Int(prefix - 0xf7))
            }
        }
        let list = header(1)
        var starts: [Int] = []
        var position = list.payload
        while position < list.payload + list.length {
            starts.append(position)
            let item = header(position)
            position = item.payload + item.length
        }
        let signatureStart = starts[starts.count - 1]
        var payload: [UInt8] = []
        payload.reserveCapacity(signatureStart - list.payload + 2)
        if sponsored {
            payload += raw[starts[0]..<starts[10]]
            payload += [0x80, 0x00]
            payload += raw[starts[12]..<signatureStart]
        } else {
            payload += raw[starts[0]..<signatureStart]
        }
        var out: [UInt8] = [TempoTransaction.typeByte]
        out.reserveCapacity(payload.count + 6)
        if payload.count < 56 {
            out.append(0xc0 + UInt8(payload.count))
        } else {
            let length = UInt256(UInt64(payload.count)).minimalBigEndianBytes
            out.append(0xf7 + UInt8(length.count))
            out += length
        }
        return out + payload
    }

    /// Decodes `0x`-prefixed hex.
    public init(rawHex: some StringProtocol) throws(EVMError) {
        try self.init(raw: Hex.decode(rawHex))
    }

    /// The sender (the account the calls run as). High-s is rejected.
    ///
    /// - Throws: ``EVMError/Code/unsupportedSignature`` for a scheme other than secp256k1,
    ///   ``EVMError/Code/highS``, ``EVMError/Code/recoveryFailed``.
    public func recoverSender() throws(EVMError) -> Address {
        guard case .secp256k1(let signature) = senderSignature else {
            throw EVMError(.unsupportedSignature, "only secp256k1 sender signatures are verified (type \(senderSignature.bytes[0]))")
        }
        return try signature.recoverAddress(from: Keccak256.hash(decodedSenderPreimage ?? transaction.senderPreimage))
    }

    /// The fee payer of a sponsored transaction, nil for one that pays its own fees.
    public func recoverFeePayer(sender: Address) throws(EVMError) -> Address? {
        try feePayerSignature?.recoverAddress(from: transaction.feePayerSigningHash(sender: sender))
    }

    /// The transaction sponsored by `key`, paying fees in `feeToken`.
    ///
    /// - Throws: ``EVMError/Code/invalidTransaction`` unless the sender signed it as sponsored, and the
    ///   errors of ``recoverSender()``.
    public func cosigned(by key: PrivateKey, feeToken: Address) throws(EVMError) -> SignedTempoTransaction {
        guard transaction.isSponsored else { throw EVMError(.invalidTransaction, "the sender did not sign for a fee payer") }
        let sender = try recoverSender()
        var copy = self
        copy.transaction.feeToken = feeToken
        copy.feePayerSignature = key.sign(digest: copy.transaction.feePayerSigningHash(sender: sender))
        return copy
    }
}
