import AsyncHTTPClient
import EVM
import Foundation
import Ledger
import MPP
import MPPTempo
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import PostgresNIO
import SettleTesting

extension TempoChargeHarness {
    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String

        var challenge: PaymentChallenge? {
            headers["WWW-Authenticate"].lazy.compactMap { try? PaymentChallenge.parse(wwwAuthenticate: $0).first }.first
        }
        var problemType: String? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["type"] as? String
        }
        var receipt: PaymentReceipt? { headers.first(name: "Payment-Receipt").flatMap { try? PaymentReceipt.parse($0) } }
    }

    func send(_ path: String, authorization: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url + path)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response = try await HTTPClient.shared.execute(request, timeout: HangGuard.timeAmount)
        let buffer = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: buffer))
    }

    func challenge(_ path: String) async throws -> PaymentChallenge {
        let answer = try await send(path)
        guard answer.status == 402, let challenge = answer.challenge else {
            throw TestFailure("no challenge on \(path): \(answer.status) \(answer.body)")
        }
        return challenge
    }

    /// Sends `payload` as the credential for `challenge` on `path`.
    func pay(_ path: String, _ challenge: PaymentChallenge, _ payload: [String: MPP.JSONValue], source: String? = nil) async throws
        -> Answer
    {
        let authorization = try PaymentCredential(challenge: challenge, payload: .object(payload), source: source).authorization()
        return try await send(path, authorization: authorization)
    }

    /// A payer funded with pathUSD.
    func fundedPayer() async throws -> PrivateKey {
        let key = PrivateKey.random()
        _ = try await rpc.request("tempo_fundAddress", [.string(key.address.lowercased)], as: RPCValue.self)
        return key
    }

    static func transferCall(to: Address, _ amount: EVM.UInt256, memo: Hash32?, token: Address = pathUSD) -> TempoCall {
        let input =
            if let memo {
                ABI.encodeCall("transferWithMemo(address,uint256,bytes32)", [.address(to), .uint(amount), .bytes32(memo)])
            } else {
                ABI.encodeCall("transfer(address,uint256)", [.address(to), .uint(amount)])
            }
        return TempoCall(to: token, input: input)
    }

    /// A transaction as pympp's client makes it: an expiring nonce, a 60 s window, the fee in pathUSD.
    func transaction(_ calls: [TempoCall], chainID: UInt64? = nil, validBefore: UInt64? = nil, sponsored: Bool = false) -> TempoTransaction
    {
        TempoTransaction(
            chainID: chainID ?? self.chainID, maxPriorityFeePerGas: 0, maxFeePerGas: 20_000_000_000, gasLimit: 1_000_000, calls: calls,
            nonceKey: TempoTransaction.expiringNonceKey, nonce: 0,
            validBefore: validBefore ?? UInt64(Date().timeIntervalSince1970) + 60, feeToken: sponsored ? nil : Self.pathUSD,
            isSponsored: sponsored)
    }

    /// The right payment for `challenge` of an unsplit route charging `amount`.
    func rightCall(_ challenge: PaymentChallenge, amount: EVM.UInt256) -> TempoCall {
        Self.transferCall(to: recipient, amount, memo: AttributionMemo.encode(challengeID: challenge.id, realm: challenge.realm))
    }

    func balance(_ owner: Address) async throws -> EVM.UInt256 {
        let output = try await rpc.call(CallRequest(to: Self.pathUSD, data: ABI.encodeCall("balanceOf(address)", [.address(owner)])))
        return try ABI.decode([.uint(bits: 256)], from: output).first?.uint ?? .zero
    }

    /// Credits posted on the merchant's revenue account (zero when nothing was ever booked to it).
    func revenue() async throws -> Ledger.UInt256 {
        do {
            return try await ledger.balance(of: merchant).creditsPosted
        } catch  where error.code == .accountNotFound {
            return .zero
        }
    }

    /// The state of the proof reserved for transaction `hash`, nil when none was.
    func proofState(_ hash: String) async throws -> String? {
        let rows = try await ledger.client.query(
            "select state from settle.mpp_proofs where proof = \("tempo:" + hash.lowercased())", logger: Self.logger)
        for try await state in rows.decode(String.self) { return state }
        return nil
    }
}
