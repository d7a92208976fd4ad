import EVM
import Testing

@Suite struct EIP3009Tests {
    @Test func typeHashes() {
        #expect(TransferWithAuthorization.typeHash.hex == "0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267")
        #expect(ReceiveWithAuthorization.typeHash.hex == "0xd099cc98ef71107a616c4f0f941f04c322d8e254fe26b3c6668db87aae413de8")
        #expect(CancelAuthorization.typeHash.hex == "0x158b0a9edf7a828aad02f63cd515c68ef2f50ba807396f6d12842833a1597429")
    }

    static func baseSepoliaUSDC(name: String = "USDC") throws -> TokenDomain {
        TokenDomain(name: name, version: "2", chainID: 84532, verifyingContract: try Address("0x036CbD53842c5426634e7929541eC2318f3dCF7e"))
    }

    static func vectorA() throws -> TransferWithAuthorization {
        TransferWithAuthorization(
            from: try Address("0x857b06519E91e3A54538791bDbb0E22373e36b66"), to: try Address("0x209693Bc6afc0C5328bA36FaF03C514EF312287C"),
            value: 10000, validAfter: 1_740_672_089, validBefore: 1_740_672_154,
            nonce: try Hash32(hex: "0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480"))
    }

    static let vectorASignature =
        "0x2d6a7588d6acca505cbf0d9a4a227e0c52c6c34008c8e8986a1283259764173608a2ce6496642e377d6da8dbbf5836e9bd15092f9ecab05ded3d6293af148b571c"

    // The x402 spec's own example payload (a real signature).
    @Test func vectorA() throws {
        let authorization = try Self.vectorA()
        let domain = try Self.baseSepoliaUSDC()
        #expect(authorization.structHash.hex == "0x49ad644555c7bdf3ea4fc022a4940ae5589b230b1dde0065c5504fa19bbe39a4")
        #expect(authorization.digest(in: domain).hex == "0xf256992871671abcb27ff92885a7afa46218724e5fc0bac35d050115aa1d22e6")
        let signature = try Signature(hex: Self.vectorASignature)
        #expect(try authorization.recoverSigner(signature, in: domain) == authorization.from)
        try authorization.verify(signature, in: domain)
    }

    // The same payload checked against the wrong token name recovers someone else.
    @Test func vectorAWithWrongDomainName() throws {
        let authorization = try Self.vectorA()
        let wrong = try Self.baseSepoliaUSDC(name: "USD Coin")
        let signature = try Signature(hex: Self.vectorASignature)
        #expect(try authorization.recoverSigner(signature, in: wrong) == (try Address("0xED07B31Fa76779c7A25BA712fB1bFBECefa2ad7e")))
        let error = #expect(throws: EVMError.self) { try authorization.verify(signature, in: wrong) }
        #expect(error?.code == .invalidSignature)
    }

    // Deterministic RFC 6979 signature with anvil's key #0 in the local domain.
    @Test func vectorB() throws {
        let key = try PrivateKey(hex: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
        let domain = TokenDomain(
            name: "USD Coin", version: "2", chainID: 31337, verifyingContract: try Address("0x5FbDB2315678afecb367f032d93F642f64180aa3"))
        let authorization = TransferWithAuthorization(
            from: key.address, to: try Address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), value: 1000, validAfter: 0,
            validBefore: 1_800_000_000, nonce: try Hash32(hex: "0x" + String(repeating: "11", count: 32)))
        #expect(key.address == (try Address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")))
        #expect(authorization.structHash.hex == "0xff16c67d814b99fb213810e9a6bdc128ef3ab7a778a8e15958d78ab322642337")
        #expect(authorization.digest(in: domain).hex == "0x7e70d75dc39610dca4936e63730aa6ff6a388e5d591c202e83fdfbdbccb66919")
        let signature = authorization.sign(with: key, in: domain)
        #expect(
            signature.hex
                == "0x037152386522dbf41fb00bb5d219b8add822da7381639139441275d19ea9fa665a8319aeb3a24bc4450f6e2fe79a4364ce3ba9dd857026f7778a14f3f952ac081b"
        )
        #expect(signature.v == 27)
        try authorization.verify(signature, in: domain)
    }

    @Test func fastPathMatchesGenericEncoder() throws {
        let domain = try Self.baseSepoliaUSDC()
        let key = PrivateKey.random()
        let nonce = Keccak256.hash("nonce")
        let to = try Address("0x209693Bc6afc0C5328bA36FaF03C514EF312287C")
        let fields = [
            EIP712Field("from", "address"), EIP712Field("to", "address"), EIP712Field("value", "uint256"),
            EIP712Field("validAfter", "uint256"), EIP712Field("validBefore", "uint256"), EIP712Field("nonce", "bytes32"),
        ]
        let message: [String: EIP712Value] = [
            "from": .address(key.address), "to": .address(to), "value": .uint(.max), "validAfter": .uint(5), "validBefore": .uint(6),
            "nonce": .bytes(nonce.bytes),
        ]
        let receive = ReceiveWithAuthorization(from: key.address, to: to, value: .max, validAfter: 5, validBefore: 6, nonce: nonce)
        #expect(
            receive.structHash == (try EIP712Types(["ReceiveWithAuthorization": fields]).hashStruct("ReceiveWithAuthorization", message)))
        let cancel = CancelAuthorization(authorizer: key.address, nonce: nonce)
        let cancelTypes = EIP712Types(["CancelAuthorization": [EIP712Field("authorizer", "address"), EIP712Field("nonce", "bytes32")]])
        #expect(
            cancel.structHash
                == (try cancelTypes.hashStruct("CancelAuthorization", ["authorizer": .address(key.address), "nonce": .bytes(nonce.bytes)])))
        try receive.verify(receive.sign(with: key, in: domain), in: domain)
        try cancel.verify(cancel.sign(with: key, in: domain), in: domain)
        // A transfer signature does not authorize a receive with the same fields.
        let transfer = TransferWithAuthorization(from: key.address, to: to, value: .max, validAfter: 5, validBefore: 6, nonce: nonce)
        #expect(throws: EVMError.self) { try receive.verify(transfer.sign(with: key, in: domain), in: domain) }
    }

    @Test func highSAuthorizationIsRejected() throws {
        let authorization = try Self.vectorA()
        let domain = try Self.baseSepoliaUSDC()
        let low = try Signature(hex: Self.vectorASignature)
        let n = try UInt256(hex: "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
        let high = try Signature(r: low.r, s: (n - low.s.uint256).word, v: low.recoveryID ^ 1)
        let error = #expect(throws: EVMError.self) { try authorization.verify(high, in: domain) }
        #expect(error?.code == .highS)
        try authorization.verify(high.normalized(), in: domain)
    }
}
