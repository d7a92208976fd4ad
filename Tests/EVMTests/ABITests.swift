import EVM
import Testing

@Suite struct ABITests {
    @Test func selectorsAndTopics() {
        #expect(Hex.encode(ABI.selector("transfer(address,uint256)")) == "0xa9059cbb")
        #expect(Hex.encode(ABI.selector("balanceOf(address)")) == "0x70a08231")
        #expect(Hex.encode(ABI.selector("Error(string)")) == "0x08c379a0")
        #expect(TransferEvent.topic.hex == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
        #expect(AuthorizationUsedEvent.topic.hex == "0x98de503528ee59b575ef0c0a2576a82497bfc029a5685b209e9ec333479b10a5")
    }

    @Test func transferCall() throws {
        let data = ABI.encodeCall(
            "transfer(address,uint256)", [.address(try Address("0x209693Bc6afc0C5328bA36FaF03C514EF312287C")), .uint(10000)])
        #expect(
            Hex.encode(data)
                == "0xa9059cbb000000000000000000000000209693bc6afc0c5328ba36faf03c514ef312287c0000000000000000000000000000000000000000000000000000000000002710"
        )
    }

    // Reference from eth_abi 6.0: encode(['address','uint256','bool','bytes32','bytes','string','uint8'], …).
    static let mixedHex =
        "0x00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c80000000000000000000000000000000000000000000000000de0b6b3a76400000000000000000000000000000000000000000000000000000000000000000001111111111111111111111111111111111111111111111111111111111111111100000000000000000000000000000000000000000000000000000000000000e0000000000000000000000000000000000000000000000000000000000000012000000000000000000000000000000000000000000000000000000000000000ff00000000000000000000000000000000000000000000000000000000000000030102030000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000668c3a96c6c6f0000000000000000000000000000000000000000000000000000"
    static let mixedTypes: [ABIType] = [.address, .uint256, .bool, .bytes32, .bytes, .string, .uint8]

    @Test func staticAndDynamicRoundTrip() throws {
        let values: [ABIValue] = [
            .address(try Address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")), .uint(try UInt256(decimal: "1000000000000000000")),
            .bool(true), .bytes32(try Hash32(hex: "0x" + String(repeating: "11", count: 32))), .bytes([1, 2, 3]), .string("héllo"),
            .uint(255),
        ]
        #expect(Hex.encode(ABI.encode(values)) == Self.mixedHex)
        #expect(try ABI.decode(Self.mixedTypes, from: Hex.decode(Self.mixedHex)) == values)
        #expect(Self.mixedTypes.map(\.description) == ["address", "uint256", "bool", "bytes32", "bytes", "string", "uint8"])
    }

    @Test func strictDecoding() throws {
        let good = try Hex.decode(Self.mixedHex)
        func mutated(_ index: Int, _ byte: UInt8) -> [UInt8] {
            var copy = good
            copy[index] = byte
            return copy
        }
        let cases: [(String, [UInt8])] = [
            ("dirty address", mutated(0, 1)),
            ("bool 2", mutated(95, 2)),
            ("uint8 above 255", mutated(222, 1)),
            ("offset out of range", mutated(158, 0xff)),
            ("length out of range", mutated(255, 0xff)),
            ("truncated head", Array(good.prefix(200))),
            ("invalid UTF-8", mutated(320, 0xff)),
        ]
        for (name, data) in cases {
            let error = #expect(throws: EVMError.self, "\(name)") { try ABI.decode(Self.mixedTypes, from: data) }
            #expect(error?.code == .invalidABI, "\(name)")
        }
        // Dirty padding of a bytes4.
        let word = [0xde, 0xad, 0xbe, 0xef] + [UInt8](repeating: 0, count: 27) + [1]
        #expect(throws: EVMError.self) { try ABI.decode([.fixedBytes(4)], from: word) }
        #expect(try ABI.decode([.fixedBytes(4)], from: word.dropLast() + [0]) == [.fixedBytes([0xde, 0xad, 0xbe, 0xef])])
    }

    @Test func revertReasons() throws {
        // Solidity docs' example: revert("Not enough Ether provided.").
        let data = try Hex.decode(
            "0x08c379a00000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000001a4e6f7420656e6f7567682045746865722070726f76696465642e000000000000"
        )
        #expect(RevertReason(data: data) == .error("Not enough Ether provided."))
        #expect(RevertReason(data: []) == .empty)
        #expect(RevertReason(data: RevertReason.panicSelector + UInt256(0x11).bigEndianBytes) == .panic(0x11))
        #expect(RevertReason(data: [1, 2, 3, 4, 5]) == .custom(selector: [1, 2, 3, 4], data: [5]))
        // Claims Error(string) but is truncated: kept whole as a custom error.
        #expect(RevertReason(data: Array(data.prefix(40))) == .custom(selector: RevertReason.errorSelector, data: Array(data[4..<40])))
    }

    @Test func transferAndAuthorizationUsedLogs() throws {
        let token = try Address("0x036CbD53842c5426634e7929541eC2318f3dCF7e")
        let from = try Address("0x857b06519E91e3A54538791bDbb0E22373e36b66")
        let to = try Address("0x209693Bc6afc0C5328bA36FaF03C514EF312287C")
        let nonce = try Hash32(hex: "0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480")
        let transfer = Log(address: token, topics: [TransferEvent.topic, from.word, to.word], data: UInt256(10000).bigEndianBytes)
        #expect(try TransferEvent(log: transfer) == TransferEvent(token: token, from: from, to: to, value: 10000))
        let used = Log(address: token, topics: [AuthorizationUsedEvent.topic, from.word, nonce], data: [])
        #expect(try AuthorizationUsedEvent(log: used) == AuthorizationUsedEvent(token: token, authorizer: from, nonce: nonce))

        // ERC-721 Transfer (tokenId indexed), other events and malformed ones are refused.
        var erc721 = transfer
        erc721.topics.append(UInt256(1).word)
        erc721.data = []
        var dirty = transfer
        dirty.topics[1] = UInt256.max.word
        var shortData = transfer
        shortData.data = [1]
        for log in [erc721, used, dirty, shortData] {
            #expect((#expect(throws: EVMError.self) { try TransferEvent(log: log) })?.code == .invalidLog)
        }
        #expect((#expect(throws: EVMError.self) { try AuthorizationUsedEvent(log: transfer) })?.code == .invalidLog)
    }

    /// Tuples and arrays, against eth_abi 5's encoding of the same values: Multicall3's
    /// `(address,bytes)[]` and x402 batch settlement's `VoucherClaim[]` (a static tuple inlined in a
    /// dynamic one).
    @Test func tuplesAndArraysMatchEthABI() throws {
        let a = try Address("0x1111111111111111111111111111111111111111")
        let calls: [ABIValue] = [.bool(false), .array([.tuple([.address(a), .bytes([1, 2])]), .tuple([.address(a), .bytes([])])])]
        let callsHex =
            "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000c00000000000000000000000001111111111111111111111111111111111111111000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000020102000000000000000000000000000000000000000000000000000000000000000000000000000000000000111111111111111111111111111111111111111100000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000000"
        #expect(Hex.encode(ABI.encode(calls)) == "0x" + callsHex)
        #expect(try ABI.decode([.bool, .array(.tuple([.address, .bytes]))], from: try Hex.decode(callsHex)) == calls)

        func address(_ byte: UInt8) throws -> ABIValue { .address(try Address(bytes: [UInt8](repeating: byte, count: 20))) }
        let config: ABIValue = .tuple([
            try address(1), try address(0), try address(2), try address(3), try address(4), .uint(900),
            .fixedBytes([UInt8](repeating: 5, count: 32)),
        ])
        let claims: [ABIValue] = [
            .array([.tuple([.tuple([config, .uint(300)]), .bytes([UInt8](repeating: 0xaa, count: 65)), .uint(250)])]),
            .bytes([0xbb, 0xbb, 0xbb]),
        ]
        let configType = ABIType.tuple([.address, .address, .address, .address, .address, .uint(bits: 40), .bytes32])
        let claimType = ABIType.array(.tuple([.tuple([configType, .uint(bits: 128)]), .bytes, .uint(bits: 128)]))
        #expect(claimType.description == "(((address,address,address,address,address,uint40,bytes32),uint128),bytes,uint128)[]")
        let claimsHex =
            "00000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000240000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000200000000000000000000000000101010101010101010101010101010101010101000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002020202020202020202020202020202020202020000000000000000000000000303030303030303030303030303030303030303000000000000000000000000040404040404040404040404040404040404040400000000000000000000000000000000000000000000000000000000000003840505050505050505050505050505050505050505050505050505050505050505000000000000000000000000000000000000000000000000000000000000012c000000000000000000000000000000000000000000000000000000000000014000000000000000000000000000000000000000000000000000000000000000fa0000000000000000000000000000000000000000000000000000000000000041aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003bbbbbb0000000000000000000000000000000000000000000000000000000000"
        #expect(Hex.encode(ABI.encode(claims)) == "0x" + claimsHex)
        #expect(try ABI.decode([claimType, .bytes], from: try Hex.decode(claimsHex)) == claims)

        // An array whose length runs past the data is refused, not allocated.
        var huge = try Hex.decode(callsHex)
        huge[64 + 31] = 0xff
        #expect(throws: EVMError.self) { try ABI.decode([.bool, .array(.tuple([.address, .bytes]))], from: huge) }
    }

}
