import EVM
import MPP
import Testing

@testable import MPPSession

/// The spec's v2 test vector (mpp-tempo §2.2, from mppx's `tempo-session-v2.json`): the channel id
/// and voucher digest the test client and the server derive.
struct SessionVectorTests {
    static func address(_ byte: String) throws -> Address { try Address("0x" + String(repeating: byte, count: 20)) }

    @Test func v2ChannelIDAndVoucherDigest() throws {
        let descriptor = TempoChannelDescriptor(
            payer: try Self.address("11"), payee: try Self.address("22"), operator: try Self.address("33"), token: try Self.address("44"),
            salt: try Hash32(hex: "0x" + String(repeating: "0", count: 63) + "1"), authorizedSigner: try Self.address("55"),
            expiringNonceHash: try Hash32(hex: "0x" + String(repeating: "aa", count: 32)))
        let id = descriptor.channelID(escrow: TempoChannelEscrow.v2Address, chainID: 42431)
        #expect(id.hex == "0xba76934166855d51b0af261f57d3cd4bf48397c330f6e4b8804921b2ead973af")
        let domain = TempoChannelEscrow.v2.domain(chainID: 42431, escrow: TempoChannelEscrow.v2Address)
        let digest = TempoChannelEscrow.v2.voucherDigest(channelID: id, cumulativeAmount: 250, domain: domain)
        #expect(digest.hex == "0x18777f09088d7ef13e661ecfdab7136ffa73ec6b6b8899dbf7d045a4f4000fbb")
        // The test client's vouchers for that channel recover to their signer, as the server checks them.
        let key = PrivateKey.random()
        let client = SessionClient(
            url: "", payer: key, signer: nil, version: .v2, escrow: TempoChannelEscrow.v2Address, payee: descriptor.payee,
            token: descriptor.token, chainID: 42431, challenge: try Self.challenge(), channelID: id, descriptor: descriptor)
        #expect(try TempoChannelEscrow.recoverVoucherSigner(client.sign(250), digest: digest) == key.address)
    }

    static func challenge() throws -> MPP.PaymentChallenge {
        MPP.PaymentChallenge(id: "x", realm: "r", method: "tempo", intent: "session", request: "e30")
    }
}
