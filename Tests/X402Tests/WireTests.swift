import EVM
import Foundation
import Ledger
import Paywall
import SettleTesting
import Testing

@testable import X402

/// x402.md §6 vectors and the wire format's limits.
struct WireTests {
    // Vector A: the spec's own example (specs/x402-specification-v2.md §5.2.1), Base Sepolia USDC.
    static let vectorAJSON = """
        {"x402Version":2,"resource":{"url":"https://api.example.com/premium-data","description":"Access to premium market data",\
        "mimeType":"application/json"},"accepted":{"scheme":"exact","network":"eip155:84532","amount":"10000",\
        "asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C",\
        "maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}},"payload":{"signature":\
        "0x2d6a7588d6acca505cbf0d9a4a227e0c52c6c34008c8e8986a1283259764173608a2ce6496642e377d6da8dbbf5836e9bd15092f9ecab05ded3d6293af148b571c",\
        "authorization":{"from":"0x857b06519E91e3A54538791bDbb0E22373e36b66","to":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C",\
        "value":"10000","validAfter":"1740672089","validBefore":"1740672154",\
        "nonce":"0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480"}}}
        """

    static let baseSepoliaUSDC = X402Token(
        chainID: 84532, address: try! Address("0x036CbD53842c5426634e7929541eC2318f3dCF7e"), name: "USDC", version: "2", decimals: 6,
        assetID: "usdc-base-sepolia")

    @Test func vectorADecodesAndRoundTripsThroughTheHeader() throws {
        let payload = try X402HeaderCodec.standard.decodeJSON(PaymentPayload.self, from: Data(Self.vectorAJSON.utf8))
        #expect(payload.accepted.amount == "10000")
        #expect(payload.accepted.extra?["name"] == .string("USDC"))
        #expect(payload.resource?.mimeType == "application/json")
        let header = X402HeaderCodec.standard.encode(payload)
        #expect(Data(base64Encoded: header) != nil)
        #expect(try X402HeaderCodec.standard.decode(PaymentPayload.self, from: header) == payload)
        let exact = try JSONDecoder().decode(ExactEvmPayload.self, from: X402HeaderCodec.json(payload.payload))
        #expect(exact.authorization.nonce == "0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480")
    }

    @Test func vectorASignatureRecoversInTheConfiguredDomainOnly() async throws {
        let payload = try X402HeaderCodec.standard.decodeJSON(PaymentPayload.self, from: Data(Self.vectorAJSON.utf8))
        let facilitator = try await Self.facilitator(tokens: [Self.baseSepoliaUSDC], now: 1_740_672_100)
        let parsed = try facilitator.parse(payload, payload.accepted).get()
        let message = parsed.authorization
        #expect(parsed.authorization.structHash.hex == "0x49ad644555c7bdf3ea4fc022a4940ae5589b230b1dde0065c5504fa19bbe39a4")
        #expect(parsed.authorization.digest(in: parsed.domain).hex == "0xf256992871671abcb27ff92885a7afa46218724e5fc0bac35d050115aa1d22e6")
        #expect(parsed.domain.separator.hex == "0x71f17a3b2ff373b803d70a5a07c046c1a2bc8e89c09ef722fcb047abe94c9818")
        #expect(facilitator.checkWindowAndSignature(parsed) == nil)

        // The same message in a domain named "USD Coin" recovers to another address: a facilitator
        // configured with that name refuses it, whatever extra.name the client sends.
        var wrong = Self.baseSepoliaUSDC
        wrong.name = "USD Coin"
        let other = try parsed.authorization.recoverSigner(parsed.signature, in: wrong.domain)
        #expect(other.checksummed == "0xED07B31Fa76779c7A25BA712fB1bFBECefa2ad7e")
        let misconfigured = try await Self.facilitator(tokens: [wrong], now: 1_740_672_100)
        var renamed = payload
        renamed.accepted.extra?["name"] = .string("USD Coin")
        let forged = try misconfigured.parse(renamed, renamed.accepted).get()
        #expect(misconfigured.checkWindowAndSignature(forged)?.invalidReason == .invalidSignature)
        #expect(facilitator.parse(renamed, renamed.accepted).failureReason == .tokenNameMismatch)

        // 6-second margin: 1740672154 - 6 = 1740672148 is the last second it is accepted.
        let late = try await Self.facilitator(tokens: [Self.baseSepoliaUSDC], now: 1_740_672_149)
        let latePayment = try late.parse(payload, payload.accepted).get()
        #expect(late.checkWindowAndSignature(latePayment)?.invalidReason == .validBefore)
        let onTime = try await Self.facilitator(tokens: [Self.baseSepoliaUSDC], now: 1_740_672_148)
        let onTimePayment = try onTime.parse(payload, payload.accepted).get()
        #expect(onTime.checkWindowAndSignature(onTimePayment) == nil)
        let early = try await Self.facilitator(tokens: [Self.baseSepoliaUSDC], now: 1_740_672_088)
        let earlyPayment = try early.parse(payload, payload.accepted).get()
        #expect(early.checkWindowAndSignature(earlyPayment)?.invalidReason == .validAfter)
    }

    @Test func vectorBIsReproducedBySwiftSigning() throws {
        let key = try PrivateKey(hex: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
        let domain = TokenDomain(
            name: "USD Coin", version: "2", chainID: 31337, verifyingContract: try Address("0x5FbDB2315678afecb367f032d93F642f64180aa3"))
        #expect(domain.separator.hex == "0xfc557a58e1177dd0b729c40130003009d1ffed5a502b494889e2711c7726dd52")
        let authorization = TransferWithAuthorization(
            from: key.address, to: try Address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), value: 1000, validAfter: 0,
            validBefore: 1_800_000_000, nonce: try Hash32(bytes: [UInt8](repeating: 0x11, count: 32)))
        #expect(authorization.digest(in: domain).hex == "0x7e70d75dc39610dca4936e63730aa6ff6a388e5d591c202e83fdfbdbccb66919")
        #expect(
            authorization.sign(with: key, in: domain).hex
                == "0x037152386522dbf41fb00bb5d219b8add822da7381639139441275d19ea9fa665a8319aeb3a24bc4450f6e2fe79a4364ce3ba9dd857026f7778a14f3f952ac081b"
        )
    }

    @Test func paymentRequiredHeaderMatchesTheSpecShape() throws {
        let required = PaymentRequired(
            resource: ResourceInfo(url: "http://127.0.0.1:8402/paid"),
            accepts: [
                .exact(
                    network: "eip155:31337", amount: "1000", asset: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                    payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", name: "USD Coin", version: "2")
            ])
        let header = X402HeaderCodec.standard.encode(required)
        let data = try #require(Data(base64Encoded: header))
        let json = String(decoding: data, as: UTF8.self)
        #expect(
            json
                == #"{"accepts":[{"amount":"1000","asset":"0x5FbDB2315678afecb367f032d93F642f64180aa3","extra":{"name":"USD Coin","version":"2"},"maxTimeoutSeconds":60,"network":"eip155:31337","payTo":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","scheme":"exact"}],"resource":{"url":"http://127.0.0.1:8402/paid"},"x402Version":2}"#
        )
        #expect(try X402HeaderCodec.standard.decode(PaymentRequired.self, from: header) == required)
    }

    @Test func settleResponsesAndUnknownReasonsRoundTripVerbatim() throws {
        let pending = SettleResponse(
            success: false, errorReason: .settlementPending, payer: "0x857b06519E91e3A54538791bDbb0E22373e36b66",
            transaction: "0x" + String(repeating: "ab", count: 32), network: "eip155:84532")
        let decoded = try X402HeaderCodec.standard.decode(SettleResponse.self, from: X402HeaderCodec.standard.encode(pending))
        #expect(decoded == pending)
        #expect(decoded.isPending)
        let foreign = #"{"isValid":false,"invalidReason":"batch_channel_busy_v9","payer":"0xabc"}"#
        let verify = try JSONDecoder().decode(VerifyResponse.self, from: Data(foreign.utf8))
        #expect(verify.invalidReason?.rawValue == "batch_channel_busy_v9")
        #expect(String(decoding: X402HeaderCodec.json(verify), as: UTF8.self).contains(#""invalidReason":"batch_channel_busy_v9""#))
        let supported = try JSONDecoder().decode(
            SupportedResponse.self, from: Data(#"{"kinds":[{"x402Version":1,"scheme":"exact","network":"base-sepolia"}]}"#.utf8))
        #expect(supported.kinds.first?.network == "base-sepolia")
        #expect(supported.extensions.isEmpty)
    }

    @Test func headerLimitsGiveTypedErrors() throws {
        let codec = X402HeaderCodec(maxHeaderBytes: 1024, maxDepth: 8)
        #expect(throws: X402WireError(.tooLarge, "the header has 2000 bytes, more than 1024")) {
            try codec.decode(PaymentPayload.self, from: String(repeating: "A", count: 2000))
        }
        #expect(kind { try codec.decode(PaymentPayload.self, from: "not base64!") } == .invalidBase64)
        #expect(kind { try codec.decode(PaymentPayload.self, from: Data("{nope".utf8).base64EncodedString()) } == .invalidJSON)
        let deep = String(repeating: "[", count: 9) + String(repeating: "]", count: 9)
        #expect(kind { try codec.decode(PaymentPayload.self, from: Data(deep.utf8).base64EncodedString()) } == .tooDeep)
        // Brackets inside strings do not count.
        let shallow =
            #"{"x402Version":2,"accepted":{"scheme":"[[[[[[[[[[","network":"n","amount":"1","asset":"a","payTo":"p","maxTimeoutSeconds":1},"payload":{}}"#
        #expect(try codec.decode(PaymentPayload.self, from: Data(shallow.utf8).base64EncodedString()).accepted.scheme == "[[[[[[[[[[")
        #expect(
            kind { try codec.decode(PaymentPayload.self, from: Data(#"{"x402Version":2}"#.utf8).base64EncodedString()) } == .invalidMessage)
    }

    /// The strict parser's path (``PaymentPayload/init(parsed:)``) gives what `Decodable` gives,
    /// and leaves to `Decodable` what it is not sure of: whatever the header, both decode alike.
    @Test(arguments: [
        vectorAJSON,
        #"{"x402Version":2,"accepted":{"scheme":"batch-settlement","network":"eip155:1","amount":"1","asset":"a","payTo":"p","maxTimeoutSeconds":5},"payload":{"voucher":{"n":[1,-2,true,null,"\u00e9"]}},"extensions":{"payment-identifier":{"info":{"id":"x"}}}}"#,
        #"{"x402Version":2,"resource":null,"accepted":{"scheme":"s","network":"n","amount":"1","asset":"a","payTo":"p","maxTimeoutSeconds":1,"extra":null},"payload":null,"extensions":null,"unknown":[1]}"#,
        #"{"x402Version":2,"resource":{"url":"u","description":null},"accepted":{"scheme":"s","network":"n","amount":"1","asset":"a","payTo":"p","maxTimeoutSeconds":1},"payload":{"x":1.5}}"#,
        #"{"x402Version":2,"accepted":{"scheme":"s","network":"n","amount":"1","asset":"a","payTo":"p","maxTimeoutSeconds":1},"payload":{"x":1},"payload":{"x":2}}"#,
        #"{"x402Version":"2","accepted":{"scheme":"s","network":"n","amount":"1","asset":"a","payTo":"p","maxTimeoutSeconds":1},"payload":{}}"#,
        #"{"x402Version":2,"accepted":{"scheme":"s","network":"n","amount":1,"asset":"a","payTo":"p","maxTimeoutSeconds":1},"payload":{}}"#,
        #"{"x402Version":2,"resource":{"url":7},"accepted":{"scheme":"s","network":"n","amount":"1","asset":"a","payTo":"p","maxTimeoutSeconds":1},"payload":{}}"#,
        #"{"x402Version":2,"accepted":{"scheme":"s","network":"n","amount":"1","asset":"a","payTo":"p","maxTimeoutSeconds":99999999999999999999},"payload":{}}"#,
        #"{"x402Version":2,"accepted":{"scheme":"s","network":"n","amount":"1","asset":"a","payTo":"p","maxTimeoutSeconds":1,"extra":[]},"payload":{}}"#,
    ])
    func parsedPayloadsAreWhatDecodableGives(_ json: String) throws {
        let header = Data(json.utf8).base64EncodedString()
        let decodable = Result { try JSONDecoder().decode(PaymentPayload.self, from: Data(json.utf8)) }
        let parsed = Result { try X402HeaderCodec.standard.decode(PaymentPayload.self, from: header) }
        switch (decodable, parsed) {
        case (.success(let a), .success(let b)): #expect(a == b)
        case (.failure, .failure): break
        default: Issue.record("Decodable: \(decodable), parsed: \(parsed)")
        }
    }

    @Test func theCommonFormIsTakenByTheStrictParser() throws {
        let tree = try StrictJSONParser<X402JSONTree>.parse(Data(Self.vectorAJSON.utf8))
        let parsed = try #require(PaymentPayload(parsed: tree))
        #expect(parsed == (try JSONDecoder().decode(PaymentPayload.self, from: Data(Self.vectorAJSON.utf8))))
        let body =
            #"{"x402Version":2,"paymentPayload":"# + Self.vectorAJSON + #","paymentRequirements":"#
            + String(decoding: X402HeaderCodec.json(parsed.accepted), as: UTF8.self) + "}"
        let request = try #require(FacilitatorRequest(parsed: try StrictJSONParser<X402JSONTree>.parse(Data(body.utf8))))
        #expect(request == (try JSONDecoder().decode(FacilitatorRequest.self, from: Data(body.utf8))))
        // A fraction is left to Decodable.
        #expect((try? StrictJSONParser<X402JSONTree>.parse(Data(#"{"a":1.5}"#.utf8))) == nil)
    }

    func kind(_ body: () throws -> some Any) -> X402WireError.Kind? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? X402WireError)?.kind
        }
    }

    static func facilitator(tokens: [X402Token], now: UInt64) async throws -> X402Facilitator {
        let client = try await TestDatabase.client()
        return X402Facilitator(
            configuration: .init(
                tokens: tokens, signer: PrivateKey.random(),
                // Vector A pays this address: a merchant of the facilitator, or it is refused before the signature.
                merchantAccounts: ["0x209693bc6afc0c5328ba36faf03c514ef312287c": "merchant:vector-a"], clock: { now }),
            rpc: EthereumRPC(url: "http://127.0.0.1:1"), store: X402SettlementStore(client: client))
    }
}

extension Result where Failure == Invalid {
    var failureReason: X402Reason? {
        if case .failure(let invalid) = self { return invalid.response.invalidReason }
        return nil
    }
}
