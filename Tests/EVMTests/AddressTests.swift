import EVM
import Testing

@Suite struct AddressTests {
    // EIP-55's own examples.
    @Test(arguments: [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
    ])
    func eip55(checksummed: String) throws {
        let lower = "0x" + checksummed.dropFirst(2).lowercased()
        let upper = "0x" + checksummed.dropFirst(2).uppercased()
        let address = try Address(lower)
        #expect(address.checksummed == checksummed)
        #expect(try Address(upper) == address)
        #expect(try Address(checksummed) == address)
        #expect(try Address(checksummed.dropFirst(2)) == address)
        #expect(address.lowercased == lower)
        #expect(address.description == checksummed)
    }

    @Test func wrongChecksumInMixedCase() {
        // One letter's case flipped.
        let error = #expect(throws: EVMError.self) { try Address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD") }
        #expect(error?.code == .invalidChecksum)
    }

    @Test(arguments: [
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA", EVMError.Code.invalidLength),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00", .invalidLength),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", .invalidHex),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg", .invalidHex),
        ("", .invalidLength),
    ])
    func malformed(input: String, code: EVMError.Code) {
        let error = #expect(throws: EVMError.self) { try Address(input) }
        #expect(error?.code == code)
    }

    @Test func bytesAndWord() throws {
        let address = try Address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        #expect(address.bytes.count == 20)
        #expect(try Address(bytes: address.bytes) == address)
        #expect(address.word.hex == "0x00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8")
        #expect(Address.zero.lowercased == "0x" + String(repeating: "0", count: 40))
        #expect(throws: EVMError.self) { try Address(bytes: [UInt8](repeating: 1, count: 19)) }
    }
}
