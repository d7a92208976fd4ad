import EVM
import Testing

@Suite struct EIP712Tests {
    // EIP-712's "Ether Mail" example.
    static let mailTypes = EIP712Types([
        "Person": [EIP712Field("name", "string"), EIP712Field("wallet", "address")],
        "Mail": [EIP712Field("from", "Person"), EIP712Field("to", "Person"), EIP712Field("contents", "string")],
    ])

    static func mail() throws -> [String: EIP712Value] {
        [
            "from": .struct(["name": .string("Cow"), "wallet": .address(try Address("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"))]),
            "to": .struct(["name": .string("Bob"), "wallet": .address(try Address("0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"))]),
            "contents": .string("Hello, Bob!"),
        ]
    }

    static func mailDomain() throws -> EIP712Domain {
        EIP712Domain(
            name: "Ether Mail", version: "1", chainID: 1, verifyingContract: try Address("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"))
    }

    @Test func etherMail() throws {
        #expect(try Self.mailTypes.encodeType("Mail") == "Mail(Person from,Person to,string contents)Person(string name,address wallet)")
        #expect(try Self.mailTypes.typeHash("Mail").hex == "0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2")
        #expect(try Self.mailDomain().separator.hex == "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f")
        #expect(
            try Self.mailTypes.hashStruct("Mail", Self.mail()).hex == "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e")
        let digest = try EIP712.digest(domain: Self.mailDomain(), types: Self.mailTypes, primaryType: "Mail", message: Self.mail())
        #expect(digest.hex == "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2")
        let signature = try Signature(
            r: Hash32(hex: "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d"),
            s: Hash32(hex: "0x07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562"), v: 28)
        #expect(try signature.recoverAddress(from: digest) == (try Address("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826")))
    }

    @Test func dependenciesAreSortedAndDeduplicated() throws {
        let types = EIP712Types([
            "Z": [EIP712Field("a", "A"), EIP712Field("b", "B[]"), EIP712Field("again", "A[2]")],
            "B": [EIP712Field("a", "A"), EIP712Field("n", "uint8")],
            "A": [EIP712Field("x", "bytes4")],
        ])
        #expect(try types.encodeType("Z") == "Z(A a,B[] b,A[2] again)A(bytes4 x)B(A a,uint8 n)")
    }

    // x402.md §6: the EIP712Domain type hash and three USDC domain separators.
    @Test func tokenDomains() throws {
        #expect(
            Keccak256.hash("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)").hex
                == "0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f")
        let baseSepolia = TokenDomain(
            name: "USDC", version: "2", chainID: 84532, verifyingContract: try Address("0x036CbD53842c5426634e7929541eC2318f3dCF7e"))
        #expect(baseSepolia.separator.hex == "0x71f17a3b2ff373b803d70a5a07c046c1a2bc8e89c09ef722fcb047abe94c9818")
        let base = TokenDomain(
            name: "USD Coin", version: "2", chainID: 8453, verifyingContract: try Address("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"))
        #expect(base.separator.hex == "0x02fa7265e7c5d81118673727957699e4d68f74cd74b7db77da710fe8a2c7834f")
        let local = TokenDomain(
            name: "USD Coin", version: "2", chainID: 31337, verifyingContract: try Address("0x5FbDB2315678afecb367f032d93F642f64180aa3"))
        #expect(local.separator.hex == "0xfc557a58e1177dd0b729c40130003009d1ffed5a502b494889e2711c7726dd52")
    }

    @Test func arraysAndAtomicTypes() throws {
        let types = EIP712Types([
            "T": [
                EIP712Field("list", "uint256[]"), EIP712Field("flag", "bool"), EIP712Field("tag", "bytes2"), EIP712Field("blob", "bytes"),
            ]
        ])
        let message: [String: EIP712Value] = [
            "list": .array([.uint(1), .uint(2)]), "flag": .bool(true), "tag": .bytes([0xab, 0xcd]), "blob": .bytes([1, 2, 3]),
        ]
        var expected = try types.typeHash("T").bytes
        expected += Keccak256.hash(UInt256(1).bigEndianBytes + UInt256(2).bigEndianBytes).bytes
        expected += UInt256(1).bigEndianBytes
        expected += [0xab, 0xcd] + [UInt8](repeating: 0, count: 30)
        expected += Keccak256.hash([1, 2, 3]).bytes
        #expect(try types.hashStruct("T", message) == Keccak256.hash(expected))
    }

    @Test func invalidTypedData() throws {
        let types = EIP712Types([
            "T": [EIP712Field("n", "uint8"), EIP712Field("b", "bytes2"), EIP712Field("fixed", "uint256[2]"), EIP712Field("i", "int256")]
        ])
        let good: [String: EIP712Value] = ["n": .uint(255), "b": .bytes([1, 2]), "fixed": .array([.uint(1), .uint(2)])]
        let cases: [(String, String, [String: EIP712Value])] = [
            ("missing field", "T", good),
            ("unknown type", "Nope", good),
            ("uint8 overflow", "T", good.merging(["n": .uint(256), "i": .uint(0)]) { $1 }),
            ("bytes2 length", "T", good.merging(["b": .bytes([1]), "i": .uint(0)]) { $1 }),
            ("fixed array size", "T", good.merging(["fixed": .array([.uint(1)]), "i": .uint(0)]) { $1 }),
            ("kind mismatch", "T", good.merging(["n": .string("1"), "i": .uint(0)]) { $1 }),
            ("intN unsupported", "T", good.merging(["i": .uint(0)]) { $1 }),
        ]
        for (name, type, message) in cases {
            let error = #expect(throws: EVMError.self, "\(name)") { try types.hashStruct(type, message) }
            #expect(error?.code == .invalidTypedData, "\(name)")
        }
    }
}
