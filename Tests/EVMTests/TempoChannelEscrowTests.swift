import EVM
import Testing

struct TempoChannelEscrowTests {
    static func repeated(_ byte: String, _ count: Int = 20) -> String { "0x" + String(repeating: byte, count: count) }

    /// mpp-tempo.md §2.2: the TIP-1034 vector of pympp's session branch (from mppx).
    @Test func v2VectorChannelIDAndDigest() throws {
        let descriptor = TempoChannelDescriptor(
            payer: try Address(Self.repeated("11")), payee: try Address(Self.repeated("22")), operator: try Address(Self.repeated("33")),
            token: try Address(Self.repeated("44")), salt: try Hash32(hex: "0x" + String(repeating: "0", count: 63) + "1"),
            authorizedSigner: try Address(Self.repeated("55")), expiringNonceHash: try Hash32(hex: Self.repeated("aa", 32)))
        let channelID = descriptor.channelID(chainID: 42431)
        #expect(channelID.hex == "0xba76934166855d51b0af261f57d3cd4bf48397c330f6e4b8804921b2ead973af")
        let domain = TempoChannelEscrow.v2.domain(chainID: 42431, escrow: TempoChannelEscrow.v2Address)
        let digest = TempoChannelEscrow.v2.voucherDigest(channelID: channelID, cumulativeAmount: 250, domain: domain)
        #expect(digest.hex == "0x18777f09088d7ef13e661ecfdab7136ffa73ec6b6b8899dbf7d045a4f4000fbb")
        #expect(descriptor.expectedSigner == descriptor.authorizedSigner)
    }

    @Test func voucherSignaturesAreCheckedAsTheEscrowDoes() throws {
        let key = PrivateKey.random()
        let digest = Keccak256.hash(key.bytes)
        let signature = key.sign(digest: digest)
        #expect(try TempoChannelEscrow.recoverVoucherSigner(signature.bytes, digest: digest) == key.address)
        // EIP-2098 compact form.
        var vs = signature.s.bytes
        vs[0] |= signature.recoveryID << 7
        #expect(try TempoChannelEscrow.recoverVoucherSigner(signature.r.bytes + vs, digest: digest) == key.address)
        // The malleable twin is refused, as are other lengths and v values.
        let order = try UInt256(hex: "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
        let twin = try Signature(r: signature.r, s: (order - signature.s.uint256).word, v: signature.recoveryID ^ 1)
        let cases: [([UInt8], EVMError.Code)] = [
            (twin.bytes, .highS), (Array(signature.bytes.prefix(63)), .invalidSignature),
            (Array(signature.bytes.prefix(64)) + [1], .invalidSignature),
        ]
        for (bytes, code) in cases {
            let error = #expect(throws: EVMError.self) { try TempoChannelEscrow.recoverVoucherSigner(bytes, digest: digest) }
            #expect(error?.code == code)
        }
    }

    @Test func v1ChannelIDAndDomain() {
        let escrow = TempoChannelEscrow.v1ModeratoAddress
        let a = TempoChannelEscrow.v1ChannelID(
            payer: PrivateKey.random().address, payee: .zero, token: .zero, salt: .zero, authorizedSigner: .zero, escrow: escrow,
            chainID: 42431)
        #expect(a != .zero)
        #expect(TempoChannelEscrow.v1.voucherType == "Voucher(bytes32 channelId,uint128 cumulativeAmount)")
        #expect(TempoChannelEscrow.v1.domain(chainID: 42431, escrow: escrow).name == "Tempo Stream Channel")
    }
}
