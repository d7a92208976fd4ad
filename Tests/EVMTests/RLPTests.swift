import EVM
import Testing

@Suite struct RLPTests {
    static let cat = RLPItem.string("cat")
    static let dog = RLPItem.string("dog")
    static let lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit"

    // The examples of the Ethereum wiki's RLP page.
    @Test(arguments: [
        (RLPItem.string("dog"), "0x83646f67"),
        (RLPItem.list([cat, dog]), "0xc88363617483646f67"),
        (RLPItem.bytes([]), "0x80"),
        (RLPItem.list([]), "0xc0"),
        (RLPItem.uint(0), "0x80"),
        (RLPItem.bytes([0x00]), "0x00"),
        (RLPItem.bytes([0x0f]), "0x0f"),
        (RLPItem.uint(15), "0x0f"),
        (RLPItem.uint(1024), "0x820400"),
        (RLPItem.list([.list([]), .list([.list([])]), .list([.list([]), .list([.list([])])])]), "0xc7c0c1c0c3c0c1c0"),
        (
            RLPItem.string(lorem),
            "0xb8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696e6720656c6974"
        ),
    ])
    func wikiVectors(item: RLPItem, expected: String) throws {
        #expect(Hex.encode(RLP.encode(item)) == expected)
        #expect(try RLP.decode(Hex.decode(expected)) == item)
    }

    @Test func longList() throws {
        let item = RLPItem.list(Array(repeating: .string("abcdefghij"), count: 10))
        let encoded = RLP.encode(item)
        #expect(Array(encoded.prefix(2)) == [0xf8, 110])
        #expect(try RLP.decode(encoded) == item)
        let big = RLPItem.bytes([UInt8](repeating: 0xaa, count: 70_000))
        #expect(Array(RLP.encode(big).prefix(4)) == [0xba, 0x01, 0x11, 0x70])
        #expect(try RLP.decode(RLP.encode(big)) == big)
    }

    @Test func integers() throws {
        #expect(try RLP.decode([0x82, 0x04, 0x00]).uint64Value() == 1024)
        #expect(try RLP.decode([0x80]).uint256Value() == .zero)
        #expect(throws: EVMError.self) { try RLP.decode([0x82, 0x00, 0x01]).uint64Value() }
        #expect(throws: EVMError.self) { try RLP.decode([0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0]).uint64Value() }
    }

    @Test(arguments: [
        "0x", "0x81", "0x8100", "0x817f", "0x83646f", "0xc883636174", "0xb800", "0xb83700", "0xb90001" + String(repeating: "00", count: 1),
        "0xf800", "0x83646f6700", "0xc0c0", "0xbb00000001aa",
    ])
    func rejectsNonCanonicalOrTruncated(hex: String) throws {
        let error = #expect(throws: EVMError.self) { try RLP.decode(Hex.decode(hex)) }
        #expect(error?.code == .invalidRLP)
    }

    @Test func depthLimit() {
        let deep = [UInt8](repeating: 0xc1, count: 100) + [0xc0]
        // Lengths do not add up either way, but the depth limit must stop it before any overflow.
        #expect(throws: EVMError.self) { try RLP.decode(deep) }
    }
}
