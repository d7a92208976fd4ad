import EVM
import Testing

@Suite struct TransactionTests {
    static let anvilKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

    // Signed with eth-account 0.14.0 (Account.sign_transaction) and hard-coded here.
    static let transferRaw =
        "0x02f875827a6907843b9aca008506fc23ac008252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a764000080c080a049e6d9541026bf2941d2c99a56297c9957181fe6a191c5b48fffa328292dd434a03638b22118ba2ec7c9983d4726ee37549e3e200a82fe87a49a1ad0b50ab7f2c1"
    static let transferHash = "0x705e168154f07370cffcdc1b61a5688fbde7dcf03437f3cf5c298774ea0b5dcd"
    static let callRaw =
        "0x02f8e483014a34808001830186a094036cbd53842c5426634e7929541ec2318f3dcf7e80b844a9059cbb000000000000000000000000209693bc6afc0c5328ba36faf03c514ef312287c0000000000000000000000000000000000000000000000000000000000002710f838f7945fbdb2315678afecb367f032d93f642f64180aa3e1a0000000000000000000000000000000000000000000000000000000000000000101a03088c1fdcab5ab54f85a1d7bcaa19e7d5e55d36d12f0dcaa2aaf613b00ce183ca073444c9f96ef2137f44a65def4de3a9ac41ef12385523675f23424dc3f08c938"
    static let callHash = "0xc5d0e8b4ba3c649cfed48582cee8bcc3f96e97029409fba6ec1713e0bd8ab283"

    @Test func signsLikeEthAccount() throws {
        let key = try PrivateKey(hex: Self.anvilKey)
        let transaction = EIP1559Transaction(
            chainID: 31337, nonce: 7, maxPriorityFeePerGas: 1_000_000_000, maxFeePerGas: 30_000_000_000, gasLimit: 21000,
            to: try Address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), value: try UInt256(decimal: "1000000000000000000"))
        let signed = transaction.signed(with: key)
        #expect(signed.rawHex == Self.transferRaw)
        #expect(signed.hash.hex == Self.transferHash)
        #expect(signed.signature.recoveryID == 0)

        let call = EIP1559Transaction(
            chainID: 84532, nonce: 0, maxPriorityFeePerGas: 0, maxFeePerGas: 1, gasLimit: 100_000,
            to: try Address("0x036CbD53842c5426634e7929541eC2318f3dCF7e"),
            data: ABI.encodeCall(
                "transfer(address,uint256)", [.address(try Address("0x209693Bc6afc0C5328bA36FaF03C514EF312287C")), .uint(10000)]),
            accessList: [
                AccessListEntry(address: try Address("0x5FbDB2315678afecb367f032d93F642f64180aa3"), storageKeys: [UInt256(1).word])
            ])
        #expect(call.signed(with: key).rawHex == Self.callRaw)
        #expect(call.signed(with: key).hash.hex == Self.callHash)
    }

    @Test func decodesAndRecoversSender() throws {
        let anvil = try PrivateKey(hex: Self.anvilKey).address
        for (raw, hash) in [(Self.transferRaw, Self.transferHash), (Self.callRaw, Self.callHash)] {
            let decoded = try SignedEIP1559Transaction(rawHex: raw)
            #expect(decoded.rawHex == raw)
            #expect(decoded.hash.hex == hash)
            #expect(try decoded.recoverSender() == anvil)
            let any = try SignedTransaction(raw: Hex.decode(raw))
            #expect(any == .eip1559(decoded))
            #expect(any.hash.hex == hash)
            #expect(try any.recoverSender() == anvil)
        }
        let call = try SignedEIP1559Transaction(rawHex: Self.callRaw)
        #expect(call.transaction.chainID == 84532)
        #expect(call.transaction.gasLimit == 100_000)
        #expect(call.transaction.accessList.count == 1)
        #expect(call.transaction.accessList[0].storageKeys == [UInt256(1).word])
        #expect(Hex.encode(call.transaction.data.prefix(4)) == "0xa9059cbb")
    }

    @Test func contractCreationHasNoRecipient() throws {
        let key = PrivateKey.random()
        let creation = EIP1559Transaction(
            chainID: 1, nonce: 0, maxPriorityFeePerGas: 1, maxFeePerGas: 2, gasLimit: 100_000, to: nil, data: [0x60, 0x00])
        let decoded = try SignedEIP1559Transaction(raw: creation.signed(with: key).rawBytes)
        #expect(decoded.transaction.to == nil)
        #expect(try decoded.recoverSender() == key.address)
    }

    @Test func rejectsMalformedTransactions() throws {
        var raw = try Hex.decode(Self.transferRaw)
        let cases: [(String, [UInt8], EVMError.Code)] = [
            ("empty", [], .invalidTransaction),
            ("type 1", [0x01] + raw.dropFirst(), .invalidTransaction),
            ("truncated", Array(raw.dropLast()), .invalidRLP),
            ("trailing byte", raw + [0], .invalidRLP),
            (
                "eleven fields", [0x02] + RLP.encode(.list(Array(try RLP.decode(raw.dropFirst()).listValue().dropLast()))),
                .invalidTransaction
            ),
        ]
        for (name, bytes, code) in cases {
            let error = #expect(throws: EVMError.self, "\(name)") { try SignedTransaction(raw: bytes) }
            #expect(error?.code == code, "\(name)")
        }
        // yParity 2.
        var items = try RLP.decode(raw.dropFirst()).listValue()
        items[9] = .uint(2)
        raw = [0x02] + RLP.encode(.list(items))
        #expect((#expect(throws: EVMError.self) { try SignedEIP1559Transaction(raw: raw) })?.code == .invalidRecoveryID)
        // High s: decodes (it is a signature) but the sender is refused, as EIP-2 says.
        items = try RLP.decode(Hex.decode(Self.transferRaw).dropFirst()).listValue()
        let n = try UInt256(hex: "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
        items[9] = .uint(1)
        items[11] = .uint(n - (try items[11].uint256Value()))
        let malleated = try SignedEIP1559Transaction(raw: [0x02] + RLP.encode(.list(items)))
        #expect((#expect(throws: EVMError.self) { try malleated.recoverSender() })?.code == .highS)
    }

    // EIP-155's own example.
    @Test func legacyEIP155() throws {
        let raw =
            "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
        let key = try PrivateKey(hex: "0x4646464646464646464646464646464646464646464646464646464646464646")
        let transaction = LegacyTransaction(
            nonce: 9, gasPrice: 20_000_000_000, gasLimit: 21000, to: try Address("0x3535353535353535353535353535353535353535"),
            value: try UInt256(decimal: "1000000000000000000"), chainID: 1)
        #expect(transaction.signingHash.hex == "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53")
        let signed = transaction.signed(with: key)
        #expect(Hex.encode(signed.rawBytes) == raw)
        #expect(signed.v == 37)
        let decoded = try SignedLegacyTransaction(rawHex: raw)
        #expect(decoded == signed)
        #expect(decoded.hash.hex == "0x33469b22e9f636356c4160a87eb19df52b7412e8eac32a4a55ffe88ea8350788")
        #expect(try SignedTransaction(raw: Hex.decode(raw)).recoverSender() == key.address)
        // Unprotected (v = 27/28) round-trips too.
        let unprotected = LegacyTransaction(nonce: 0, gasPrice: 1, gasLimit: 21000, to: nil, chainID: nil).signed(with: key)
        #expect(try SignedLegacyTransaction(raw: unprotected.rawBytes) == unprotected)
        #expect(try SignedLegacyTransaction(raw: unprotected.rawBytes).recoverSender() == key.address)
    }
}
