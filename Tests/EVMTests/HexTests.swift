import EVM
import Testing

@Suite struct HexTests {
    @Test func roundTrip() throws {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "0x00abff")
        #expect(Hex.encode([0x0a], prefix: false) == "0a")
        #expect(try Hex.decode("0x00ABff") == [0x00, 0xab, 0xff])
        #expect(try Hex.decode("0X0a") == [0x0a])
        #expect(try Hex.decode("") == [])
        #expect(try Hex.decode("0x") == [])
    }

    @Test(arguments: ["0x1", "abc", "0xzz", "0x0g", "0x 1"])
    func invalid(input: String) {
        let error = #expect(throws: EVMError.self) { try Hex.decode(input) }
        #expect(error?.code == .invalidHex)
    }

    @Test func hash32() throws {
        let hash = try Hash32(hex: "0x" + String(repeating: "11", count: 32))
        #expect(hash.bytes == [UInt8](repeating: 0x11, count: 32))
        #expect(try Hash32(bytes: hash.bytes) == hash)
        #expect(Hash32.zero.hex == "0x" + String(repeating: "0", count: 64))
        let short = #expect(throws: EVMError.self) { try Hash32(hex: "0x1111") }
        #expect(short?.code == .invalidLength)
    }
}
