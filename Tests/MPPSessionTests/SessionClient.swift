import SettleTesting
import AsyncHTTPClient
import EVM
import Foundation
import MPP
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A `tempo/session` client written from the spec (mpp-tempo §2.2), as pympp has none: it opens a
/// channel with a signed `0x76` transaction, pays with cumulative EIP-712 vouchers, tops up and
/// closes, echoing the server's challenge verbatim in `Authorization: Payment …`.
struct SessionClient: Sendable {
    let url: String
    let payer: PrivateKey
    /// Signs vouchers (the channel's authorized signer); the payer when nil.
    let signer: PrivateKey?
    let version: TempoChannelEscrow
    let escrow: Address
    let payee: Address
    let token: Address
    let chainID: UInt64
    var challenge: PaymentChallenge
    var channelID: Hash32 = .zero
    var descriptor: TempoChannelDescriptor?

    struct Answer: Sendable {
        var status: Int
        var headers: [String: String]
        var body: String

        var receipt: PaymentReceipt? { headers["payment-receipt"].flatMap { try? PaymentReceipt.parse($0) } }
        var problem: [String: JSONValue]? { try? JSONValue.decode(Data(body.utf8)).objectValue }
        var problemType: String? { problem?["type"]?.stringValue }
        var challenges: [PaymentChallenge] {
            (headers["www-authenticate"] ?? "").isEmpty
                ? [] : ((try? PaymentChallenge.parse(wwwAuthenticate: headers["www-authenticate"]!)) ?? [])
        }
    }

    /// Asks `url` for its `tempo/session` challenge.
    static func connect(
        _ url: String, payer: PrivateKey, signer: PrivateKey? = nil, version: TempoChannelEscrow = .v2
    ) async throws -> SessionClient {
        let answer = try await send(url, authorization: nil)
        guard answer.status == 402, let challenge = answer.challenges.first(where: { $0.method == "tempo" && $0.intent == "session" })
        else { throw ClientFailure("no tempo/session challenge: \(answer.status) \(answer.body)") }
        let request = try challenge.requestObject()
        let details = request["methodDetails"]?.objectValue ?? [:]
        guard let escrow = details["escrowContract"]?.stringValue, let recipient = request["recipient"]?.stringValue,
            let currency = request["currency"]?.stringValue, case .integer(let chain)? = details["chainId"]
        else { throw ClientFailure("incomplete session request: \(request)") }
        // The advertised escrow for the advertised protocol; the other one the server also accepts.
        let escrowAddress =
            details["sessionProtocol"]?.stringValue == version.rawValue
            ? try Address(escrow) : (version == .v2 ? TempoChannelEscrow.v2Address : TempoChannelEscrow.v1ModeratoAddress)
        return SessionClient(
            url: url, payer: payer, signer: signer, version: version, escrow: escrowAddress, payee: try Address(recipient),
            token: try Address(currency), chainID: UInt64(chain), challenge: challenge)
    }

    /// The open transaction (v1: approve and open; v2: open) on a fresh nonce lane.
    mutating func openTransaction(deposit: EVM.UInt256, salt: Hash32 = .random, sponsored: Bool = false) -> SignedTempoTransaction {
        let authorized = signer?.address ?? .zero
        var calls: [TempoCall] = []
        switch version {
        case .v1:
            calls.append(TempoCall(to: token, input: ABI.encodeCall("approve(address,uint256)", [.address(escrow), .uint(deposit)])))
            calls.append(
                TempoCall(
                    to: escrow,
                    input: ABI.encodeCall(
                        "open(address,address,uint128,bytes32,address)",
                        [.address(payee), .address(token), .uint(deposit), .bytes32(salt), .address(authorized)])))
        case .v2:
            calls.append(
                TempoCall(
                    to: escrow,
                    input: ABI.encodeCall(
                        "open(address,address,address,uint96,bytes32,address)",
                        [.address(payee), .address(.zero), .address(token), .uint(deposit), .bytes32(salt), .address(authorized)])))
        }
        let signed = Self.transaction(calls, chainID: chainID, token: token, sponsored: sponsored).signed(with: payer)
        switch version {
        case .v1:
            channelID = TempoChannelEscrow.v1ChannelID(
                payer: payer.address, payee: payee, token: token, salt: salt, authorizedSigner: authorized, escrow: escrow, chainID: chainID
            )
        case .v2:
            let d = TempoChannelDescriptor(
                payer: payer.address, payee: payee, operator: .zero, token: token, salt: salt, authorizedSigner: authorized,
                expiringNonceHash: Keccak256.hash(signed.transaction.senderPreimage + payer.address.bytes))
            descriptor = d
            channelID = d.channelID(escrow: escrow, chainID: chainID)
        }
        return signed
    }

    static func transaction(_ calls: [TempoCall], chainID: UInt64, token: Address, sponsored: Bool = false) -> TempoTransaction {
        TempoTransaction(
            chainID: chainID, maxPriorityFeePerGas: 0, maxFeePerGas: 20_000_000_000, gasLimit: 1_000_000, calls: calls,
            nonceKey: EVM.UInt256(UInt64.random(in: 1...UInt64.max)), nonce: 0, feeToken: sponsored ? nil : token, isSponsored: sponsored)
    }

    /// The EIP-712 voucher signature for `amount`.
    func sign(_ amount: EVM.UInt256, channel: Hash32? = nil, key: PrivateKey? = nil) -> [UInt8] {
        let digest = version.voucherDigest(
            channelID: channel ?? channelID, cumulativeAmount: amount, domain: version.domain(chainID: chainID, escrow: escrow))
        return (key ?? signer ?? payer).sign(digest: digest).bytes
    }

    func base(_ action: String) -> [String: JSONValue] {
        var payload: [String: JSONValue] = ["action": .string(action), "channelId": .string(channelID.hex)]
        if let descriptor { payload["descriptor"] = Self.json(descriptor) }
        return payload
    }

    /// A sponsored transaction travels as pympp's `0x78` fee payer envelope, for the server to co-sign.
    static func wire(_ transaction: SignedTempoTransaction) -> String {
        transaction.transaction.isSponsored ? (try! TempoFeePayerEnvelope(transaction)).rawHex : transaction.rawHex
    }

    func openPayload(_ transaction: SignedTempoTransaction, voucher: EVM.UInt256? = nil) -> [String: JSONValue] {
        var payload = base("open")
        payload["type"] = .string("transaction")
        payload["transaction"] = .string(Self.wire(transaction))
        payload["cumulativeAmount"] = .string((voucher ?? 0).description)
        if let voucher { payload["signature"] = .string(Hex.encode(sign(voucher))) }
        return payload
    }

    func voucherPayload(_ amount: EVM.UInt256, signature: [UInt8]? = nil) -> [String: JSONValue] {
        var payload = base("voucher")
        payload["cumulativeAmount"] = .string(amount.description)
        payload["signature"] = .string(Hex.encode(signature ?? sign(amount)))
        return payload
    }

    func topUpPayload(_ amount: EVM.UInt256, sponsored: Bool = false) -> [String: JSONValue] {
        var call: [UInt8]
        switch version {
        case .v1: call = ABI.encodeCall("topUp(bytes32,uint128)", [.bytes32(channelID), .uint(amount)])
        case .v2:
            call = ABI.encodeCall(
                "topUp((address,address,address,address,bytes32,address,bytes32),uint96)", descriptor!.abiValues + [.uint(amount)])
        }
        var calls = [TempoCall(to: escrow, input: call)]
        if version == .v1 {
            calls.insert(TempoCall(to: token, input: ABI.encodeCall("approve(address,uint256)", [.address(escrow), .uint(amount)])), at: 0)
        }
        var payload = base("topUp")
        payload["type"] = .string("transaction")
        payload["transaction"] = .string(
            Self.wire(Self.transaction(calls, chainID: chainID, token: token, sponsored: sponsored).signed(with: payer)))
        payload["additionalDeposit"] = .string(amount.description)
        return payload
    }

    func closePayload(_ amount: EVM.UInt256) -> [String: JSONValue] {
        var payload = base("close")
        payload["cumulativeAmount"] = .string(amount.description)
        payload["signature"] = .string(Hex.encode(sign(amount)))
        return payload
    }

    func authorization(_ payload: [String: JSONValue], challenge: PaymentChallenge? = nil) throws -> String {
        try PaymentCredential(
            challenge: challenge ?? self.challenge, payload: .object(payload),
            source: "did:pkh:eip155:\(chainID):\(payer.address.lowercased)"
        )
        .authorization()
    }

    /// Sends `payload` to `path` (default the client's URL).
    func pay(_ payload: [String: JSONValue], url: String? = nil) async throws -> Answer {
        try await Self.send(url ?? self.url, authorization: try authorization(payload))
    }

    static func send(_ url: String, authorization: String?) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        let body = try await response.body.collect(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for header in response.headers {
            let name = header.name.lowercased()
            headers[name] = headers[name].map { $0 + ", " + header.value } ?? header.value
        }
        return Answer(status: Int(response.status.code), headers: headers, body: String(buffer: body))
    }

    static func json(_ d: TempoChannelDescriptor) -> JSONValue {
        .object([
            "payer": .string(d.payer.lowercased), "payee": .string(d.payee.lowercased), "operator": .string(d.operator.lowercased),
            "token": .string(d.token.lowercased), "salt": .string(d.salt.hex), "authorizedSigner": .string(d.authorizedSigner.lowercased),
            "expiringNonceHash": .string(d.expiringNonceHash.hex),
        ])
    }
}

extension Hash32 {
    static var random: Hash32 { try! Hash32(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) }) }
}

struct ClientFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
