import Testing

@testable import EVM

/// Shapes Settle's Tempo codec refuses, and the normalizations it makes, without Python.
struct TempoTransactionTests {
    static let pathUSD = try! Address("0x20c0000000000000000000000000000000000000")
    static let key = try! PrivateKey(hex: "0x" + String(repeating: "11", count: 32))

    static func transaction(sponsored: Bool = false) -> TempoTransaction {
        TempoTransaction(
            chainID: 42431, maxPriorityFeePerGas: 1, maxFeePerGas: 20_000_000_000, gasLimit: 1_000_000,
            calls: [TempoCall(to: pathUSD, input: [0xa9, 0x05, 0x9c, 0xbb])], nonceKey: TempoTransaction.expiringNonceKey,
            validBefore: 1_800_000_000, feeToken: sponsored ? nil : pathUSD, isSponsored: sponsored)
    }

    /// The RLP list of a transaction, to tamper with.
    static func items(_ signed: SignedTempoTransaction) throws -> [RLPItem] {
        try RLP.decode(signed.rawBytes.dropFirst()).listValue()
    }

    static func encode(_ items: [RLPItem], type: UInt8 = 0x76) -> [UInt8] { [type] + RLP.encode(.list(items)) }

    @Test func roundTripsAndRecovers() throws {
        let signed = Self.transaction().signed(with: Self.key)
        let decoded = try SignedTempoTransaction(raw: signed.rawBytes)
        #expect(decoded == signed)
        #expect(try decoded.recoverSender() == Self.key.address)
        #expect(decoded.hash == Keccak256.hash(signed.rawBytes))
        #expect(try SignedTransaction(raw: signed.rawBytes).hash == signed.hash)
    }

    /// The preimage cut from received bytes is the one encoded from the fields, sponsored or not, with
    /// a key authorization or not, short or long.
    @Test func theSenderPreimageCutFromRawBytesIsTheEncodedOne() throws {
        for sponsored in [false, true] {
            for keyAuthorization in [nil, RLPItem.list([.list([.bytes([1, 2])]), .bytes([9])])] {
                for calls in [1, 5] {
                    var transaction = Self.transaction(sponsored: sponsored)
                    transaction.calls = Array(repeating: transaction.calls[0], count: calls)
                    transaction.keyAuthorization = keyAuthorization
                    var signed = transaction.signed(with: Self.key)
                    if sponsored { signed = try signed.cosigned(by: PrivateKey.random(), feeToken: Self.pathUSD) }
                    let decoded = try SignedTempoTransaction(raw: signed.rawBytes)
                    #expect(
                        SignedTempoTransaction.senderPreimage(raw: signed.rawBytes, sponsored: sponsored) == transaction.senderPreimage,
                        "sponsored \(sponsored), key authorization \(keyAuthorization != nil), \(calls) calls")
                    #expect(try decoded.recoverSender() == Self.key.address)
                    // Changing the decoded transaction drops the cut preimage.
                    var changed = decoded
                    changed.transaction.nonce += 1
                    #expect(try changed.recoverSender() != Self.key.address)
                }
            }
        }
    }

    @Test func aRawRecoveryIDIsNormalizedBeforeHashing() throws {
        let signed = Self.transaction().signed(with: Self.key)
        var items = try Self.items(signed)
        var signature = try items[13].bytesValue()
        signature[64] -= 27
        items[13] = .bytes(signature)
        let decoded = try SignedTempoTransaction(raw: Self.encode(items))
        #expect(decoded.rawBytes == signed.rawBytes)
        #expect(decoded.hash == signed.hash)
    }

    @Test func refusesMalformedTransactions() throws {
        let signed = Self.transaction().signed(with: Self.key)
        let items = try Self.items(signed)
        var noCalls = items
        noCalls[4] = .list([])
        var badFeePayer = items
        badFeePayer[11] = .bytes([0x00])
        var badToken = items
        badToken[10] = .bytes([1, 2, 3])
        var emptySignature = items
        emptySignature[13] = .bytes([])
        var highS = items
        if case .secp256k1(let s) = signed.senderSignature {
            let flipped = try Signature(
                r: s.r, s: (try UInt256(hex: "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141") - s.s.uint256).word,
                v: s.recoveryID ^ 1)
            highS[13] = .bytes(flipped.bytes)
        }
        let cases: [(String, [UInt8], EVMError.Code)] = [
            ("wrong type byte", Self.encode(items, type: 0x02), .invalidTransaction),
            ("13 fields", Self.encode(Array(items.prefix(13))), .invalidTransaction),
            ("truncated", Array(signed.rawBytes.dropLast()), .invalidRLP),
            ("no calls", Self.encode(noCalls), .invalidTransaction),
            ("bytes in the fee payer slot", Self.encode(badFeePayer), .invalidTransaction),
            ("a 3-byte fee token", Self.encode(badToken), .invalidTransaction),
            ("an empty signature", Self.encode(emptySignature), .invalidSignature),
        ]
        for (name, raw, code) in cases {
            let error = #expect(throws: EVMError.self, "\(name)") { try SignedTempoTransaction(raw: raw) }
            #expect(error?.code == code, "\(name): \(String(describing: error))")
        }
        let malleable = try SignedTempoTransaction(raw: Self.encode(highS))
        let highSError = #expect(throws: EVMError.self) { try malleable.recoverSender() }
        #expect(highSError?.code == .highS)
    }

    @Test func keepsOtherSignatureSchemesButDoesNotVerifyThem() throws {
        var items = try Self.items(Self.transaction().signed(with: Self.key))
        items[13] = .bytes([0x01] + [UInt8](repeating: 7, count: 129))
        let decoded = try SignedTempoTransaction(raw: Self.encode(items))
        #expect(decoded.rawBytes == Self.encode(items))
        let error = #expect(throws: EVMError.self) { try decoded.recoverSender() }
        #expect(error?.code == .unsupportedSignature)
    }

    @Test func feePayerEnvelopeChecksTheNamedSender() throws {
        let signed = Self.transaction(sponsored: true).signed(with: Self.key)
        var envelope = try TempoFeePayerEnvelope(signed)
        #expect(try TempoFeePayerEnvelope(raw: envelope.rawBytes) == envelope)
        let payer = PrivateKey.random()
        let cosigned = try envelope.cosigned(by: payer, feeToken: Self.pathUSD)
        #expect(try cosigned.recoverSender() == Self.key.address)
        #expect(try cosigned.recoverFeePayer(sender: Self.key.address) == payer.address)
        envelope.sender = payer.address
        let error = #expect(throws: EVMError.self) { try envelope.cosigned(by: payer, feeToken: Self.pathUSD) }
        #expect(error?.code == .invalidSignature)
        // An unsponsored transaction has no envelope.
        #expect(throws: EVMError.self) { try TempoFeePayerEnvelope(Self.transaction().signed(with: Self.key)) }
    }
}
