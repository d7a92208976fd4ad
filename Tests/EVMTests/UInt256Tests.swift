import EVM
import Testing

@Suite struct UInt256Tests {
    static let maxDecimal = "115792089237316195423570985008687907853269984665640564039457584007913129639935"

    @Test func decimalRoundTrip() throws {
        for text in [
            "0", "1", "9", "10", "18446744073709551615", "18446744073709551616", "1000000000000000000000000000000", Self.maxDecimal,
        ] {
            #expect(try UInt256(decimal: text).description == text)
        }
        #expect(try UInt256(decimal: "007").description == "7")
        #expect(try UInt256(decimal: Self.maxDecimal) == .max)
    }

    @Test func hexParsingAndQuantity() throws {
        #expect(try UInt256(hex: "0x0") == .zero)
        #expect(try UInt256(hex: "0x1") == 1)
        #expect(try UInt256(hex: "0X0aBc") == 0xabc)
        #expect(try UInt256(hex: "ff") == 255)
        #expect(try UInt256(hex: "0x" + String(repeating: "f", count: 64)) == .max)
        #expect(try UInt256(hex: "0x000" + String(repeating: "f", count: 64)) == .max)
        #expect(UInt256.zero.hexQuantity == "0x0")
        #expect(UInt256(0x1234).hexQuantity == "0x1234")
        #expect(UInt256.max.hexQuantity == "0x" + String(repeating: "f", count: 64))
        #expect(try UInt256(decimal: "1000000000000000000").hexQuantity == "0xde0b6b3a7640000")
    }

    @Test(arguments: [
        ("", EVMError.Code.invalidNumber), ("-1", .invalidNumber), ("1.5", .invalidNumber), ("1e3", .invalidNumber), (" 1", .invalidNumber),
        ("115792089237316195423570985008687907853269984665640564039457584007913129639936", .overflow),
    ])
    func badDecimal(text: String, code: EVMError.Code) {
        let error = #expect(throws: EVMError.self) { try UInt256(decimal: text) }
        #expect(error?.code == code)
    }

    @Test func badHex() {
        #expect((#expect(throws: EVMError.self) { try UInt256(hex: "0x") })?.code == .invalidNumber)
        #expect((#expect(throws: EVMError.self) { try UInt256(hex: "0xg") })?.code == .invalidNumber)
        #expect((#expect(throws: EVMError.self) { try UInt256(hex: "0x1" + String(repeating: "0", count: 64)) })?.code == .overflow)
    }

    @Test func arithmetic() throws {
        let a = try UInt256(decimal: "18446744073709551615")
        let (sum, carry) = a.addingReportingOverflow(1)
        #expect(!carry && sum.description == "18446744073709551616")
        #expect(sum - 1 == a)
        #expect(UInt256.max.addingReportingOverflow(1) == (partialValue: .zero, overflow: true))
        #expect(UInt256.zero.subtractingReportingOverflow(1) == (partialValue: .max, overflow: true))
        #expect(UInt256(5).subtractingReportingOverflow(3) == (partialValue: 2, overflow: false))
        #expect(UInt256.max.multipliedReportingOverflow(by: 2).overflow)
        #expect(UInt256(7).multipliedReportingOverflow(by: 6) == (partialValue: 42, overflow: false))
        let big = try UInt256(decimal: "100000000000000000000000")
        let (quotient, remainder) = big.quotientAndRemainder(dividingBy: 7)
        #expect(quotient.multipliedReportingOverflow(by: 7).partialValue + UInt256(remainder) == big)
        #expect(remainder == UInt64((100_000_000_000_000_000_000_000 as UInt128) % 7))
    }

    @Test func comparison() throws {
        let values = try ["0", "1", "18446744073709551616", "340282366920938463463374607431768211456", Self.maxDecimal].map {
            text throws(EVMError) in
            try UInt256(decimal: text)
        }
        for i in values.indices {
            for j in values.indices {
                #expect((values[i] < values[j]) == (i < j))
                #expect((values[i] == values[j]) == (i == j))
            }
        }
    }

    @Test func bigEndian() throws {
        let value = try UInt256(decimal: "1000000000000000000")
        #expect(Hex.encode(value.bigEndianBytes) == "0x0000000000000000000000000000000000000000000000000de0b6b3a7640000")
        #expect(value.minimalBigEndianBytes == [0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x64, 0x00, 0x00])
        #expect(try UInt256(bigEndian: value.bigEndianBytes) == value)
        #expect(try UInt256(bigEndian: [0, 0] + value.bigEndianBytes) == value)
        #expect(UInt256.zero.minimalBigEndianBytes.isEmpty)
        #expect((#expect(throws: EVMError.self) { try UInt256(bigEndian: [1] + [UInt8](repeating: 0, count: 32)) })?.code == .overflow)
        #expect(value.word.uint256 == value)
        #expect(value.uint64 == 1_000_000_000_000_000_000)
        #expect(UInt256.max.uint64 == nil)
    }
}
