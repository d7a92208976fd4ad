import EVM
import Testing

@Suite struct SignatureTests {
    static let anvilKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

    @Test func keyOneIsTheGenerator() throws {
        let key = try PrivateKey(hex: "0x" + String(repeating: "0", count: 63) + "1")
        #expect(
            Hex.encode(key.publicKey.uncompressed)
                == "0x0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"
        )
        #expect(key.address == (try Address("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf")))
        #expect(try Address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266") == (try PrivateKey(hex: Self.anvilKey)).address)
    }

    @Test func publicKeyEncodings() throws {
        let key = try PrivateKey(hex: Self.anvilKey).publicKey
        #expect(try PublicKey(bytes: key.compressed) == key)
        #expect(try PublicKey(bytes: key.uncompressed) == key)
        #expect(try PublicKey(bytes: key.xy) == key)
        #expect((#expect(throws: EVMError.self) { try PublicKey(bytes: [UInt8](repeating: 7, count: 65)) })?.code == .invalidPublicKey)
        #expect((#expect(throws: EVMError.self) { try PublicKey(bytes: [2, 3]) })?.code == .invalidPublicKey)
    }

    // EIP-712's Ether Mail example: the key keccak256("cow") signs v=28 and these r, s.
    @Test func etherMailSignatureIsDeterministic() throws {
        let key = try PrivateKey(bytes: Keccak256.hash("cow").bytes)
        #expect(key.address == (try Address("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826")))
        let signature = key.sign(digest: try Hash32(hex: "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"))
        #expect(signature.v == 28)
        #expect(signature.r.hex == "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d")
        #expect(signature.s.hex == "0x07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562")
    }

    @Test func signAndRecoverRandomKeys() throws {
        for _ in 0..<50 {
            let key = PrivateKey.random()
            let digest = Keccak256.hash(key.bytes)
            let signature = key.sign(digest: digest)
            #expect(signature.isLowS)
            #expect(try signature.recoverAddress(from: digest) == key.address)
            #expect(try signature.recoverPublicKey(from: digest) == key.publicKey)
            #expect(try Signature(bytes: signature.bytes) == signature)
            #expect(try Signature(hex: signature.hex) == signature)
            // Another digest recovers another address (or none).
            let other = Keccak256.hash(digest.bytes)
            #expect((try? signature.recoverAddress(from: other)) != key.address)
        }
    }

    @Test func vZeroOneAndTwentySevenTwentyEightAreTheSame() throws {
        let key = try PrivateKey(hex: Self.anvilKey)
        let digest = Keccak256.hash("payment")
        var bytes = key.sign(digest: digest).bytes
        let canonical = try Signature(bytes: bytes)
        bytes[64] -= 27
        #expect(try Signature(bytes: bytes) == canonical)
        #expect(try Signature(bytes: bytes).recoverAddress(from: digest) == key.address)
    }

    @Test func highSIsRejectedAndNormalizable() throws {
        let key = try PrivateKey(hex: Self.anvilKey)
        let digest = Keccak256.hash("malleable")
        let low = key.sign(digest: digest)
        // (r, n - s, other parity) is the malleated twin.
        let n = try UInt256(hex: "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
        let high = try Signature(r: low.r, s: (n - low.s.uint256).word, v: 27 + (low.recoveryID ^ 1))
        #expect(!high.isLowS)
        let error = #expect(throws: EVMError.self) { try high.recoverAddress(from: digest) }
        #expect(error?.code == .highS)
        #expect(try high.recoverAddress(from: digest, requireLowS: false) == key.address)
        #expect(high.normalized() == low)
        #expect(low.normalized() == low)
    }

    @Test(arguments: [UInt8(2), 26, 29, 35, 37, 255])
    func invalidV(v: UInt8) throws {
        let r = try Hash32(hex: "0x" + String(repeating: "11", count: 32))
        let error = #expect(throws: EVMError.self) { try Signature(r: r, s: r, v: v) }
        #expect(error?.code == .invalidRecoveryID)
    }

    @Test func invalidRAndS() throws {
        let one = UInt256(1).word
        let n = try Hash32(hex: "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
        for (r, s) in [(Hash32.zero, one), (one, Hash32.zero), (n, one), (one, n)] {
            let error = #expect(throws: EVMError.self) { try Signature(r: r, s: s, v: 27) }
            #expect(error?.code == .invalidSignature)
        }
        #expect((#expect(throws: EVMError.self) { try Signature(bytes: [UInt8](repeating: 1, count: 64)) })?.code == .invalidLength)
        #expect((#expect(throws: EVMError.self) { try Signature(hex: "0x1234") })?.code == .invalidLength)
        #expect((#expect(throws: EVMError.self) { try Signature(hex: "0x123") })?.code == .invalidHex)
    }

    @Test func recoveryFailsWhenRIsNotOnTheCurve() throws {
        // x = 5 has no point on secp256k1 (5³ + 7 is not a square mod p).
        let signature = try Signature(r: UInt256(5).word, s: UInt256(1).word, v: 27)
        let error = #expect(throws: EVMError.self) { try signature.recoverAddress(from: Keccak256.hash("x")) }
        #expect(error?.code == .recoveryFailed)
    }

    @Test func invalidPrivateKeys() throws {
        #expect((#expect(throws: EVMError.self) { try PrivateKey(bytes: [UInt8](repeating: 0, count: 32)) })?.code == .invalidPrivateKey)
        #expect(
            (#expect(throws: EVMError.self) {
                try PrivateKey(hex: "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
            })?.code == .invalidPrivateKey)
        #expect((#expect(throws: EVMError.self) { try PrivateKey(hex: "0x01") })?.code == .invalidLength)
        let key = try PrivateKey(hex: Self.anvilKey)
        #expect(!"\(key)".contains("ac0974be"))
    }
}
