import EVM
import Foundation
import Logging
import MPP

/// MPP's `tempo/session` (mpp-tempo §2.2): the payer opens a payment channel on a Tempo escrow
/// once, then pays each request with a cumulative voucher that costs one signature recovery; the
/// server settles in bulk (``SessionSettler``).
///
/// Actions: `open` (the client's signed open transaction is broadcast, fee sponsored when
/// ``SessionConfiguration/feePayer`` is set, and the channel read from chain), `voucher`, `topUp`
/// and `close` (cooperative, on chain, capturing `max(spent, settled)`). A voucher pays the request
/// it comes with; open without a voucher, top-up and close are management actions answered `204`.
///
/// ```swift
/// let store = SessionStore(ledger: ledger)           // run it as a service, with SessionSettler
/// let method = TempoSessionMethod(configuration: configuration, rpc: rpc, store: store)
/// let offer = MPPOffer(method: method, request: configuration.request)
/// ```
public struct TempoSessionMethod: MPPMethod {
    public var method: String { "tempo" }
    public var intent: String { "session" }
    public let configuration: SessionConfiguration
    public let chain: SessionChain
    public let store: SessionStore
    let cache = ChannelCache()
    /// The EIP-712 domain separator of each configured escrow, computed once.
    let voucherDomains: [TempoChannelEscrow: (escrow: Address, separator: Hash32)]
    let logger: Logger

    public init(
        configuration: SessionConfiguration, rpc: EthereumRPC, store: SessionStore, logger: Logger = Logger(label: "settle.mpp.session")
    ) {
        self.configuration = configuration
        self.chain = SessionChain(rpc: rpc, chainID: configuration.chainID, token: configuration.token, key: configuration.settlementKey)
        self.store = store
        self.logger = logger
        voucherDomains = configuration.escrows.reduce(into: [:]) { domains, escrow in
            domains[escrow.key] = (escrow.value, escrow.key.domain(chainID: configuration.chainID, escrow: escrow.value).separator)
        }
    }

    public func pay(_ payment: MPPPayment) async throws(PaymentProblem) -> MPPPaid {
        let payload = try SessionPayload(payment.payload)
        let challenge = payment.challenge.id
        switch payload.action {
        case .open:
            let channel = try await open(payload, merchantAccount: payment.merchantAccount)
            guard let cumulative = payload.cumulativeAmount, !cumulative.isZero, let signature = payload.signature else {
                return .managed(receipt(channel, challenge: challenge), headers: headers(channel))
            }
            return try await voucher(
                payload, cumulative: cumulative, signature: signature, challenge: challenge, charge: payment.servesContent,
                merchantAccount: payment.merchantAccount)
        case .voucher:
            return try await voucher(
                payload, cumulative: payload.cumulativeAmount!, signature: payload.signature!, challenge: challenge,
                charge: payment.servesContent, merchantAccount: payment.merchantAccount)
        case .topUp:
            let channel = try await topUp(payload)
            return .managed(receipt(channel, challenge: challenge), headers: headers(channel))
        case .close:
            _ = try await accept(
                payload, cumulative: payload.cumulativeAmount!, signature: payload.signature!, charge: false,
                merchantAccount: payment.merchantAccount)
            let (channel, transaction) = try await close(payload.channelID)
            return .managed(receipt(channel, challenge: challenge, transaction: transaction), headers: headers(channel))
        }
    }

    private func voucher(
        _ payload: SessionPayload, cumulative: UInt256, signature: [UInt8], challenge: String, charge: Bool, merchantAccount: String
    ) async throws(PaymentProblem) -> MPPPaid {
        let channel = try await accept(
            payload, cumulative: cumulative, signature: signature, charge: charge, merchantAccount: merchantAccount)
        let receipt = receipt(channel, challenge: challenge)
        return charge ? .serve(receipt, headers: headers(channel)) : .managed(receipt, headers: headers(channel))
    }

    // MARK: - Receipts

    func receipt(_ channel: SessionChannel, challenge: String, transaction: Hash32? = nil) -> PaymentReceipt {
        var extensions: [String: JSONValue] = [
            "intent": .string("session"), "challengeId": .string(challenge), "channelId": .string(channel.id.hex),
            "acceptedCumulative": .string(channel.accepted.description), "spent": .string(channel.spent.description),
        ]
        if let transaction { extensions["txHash"] = .string(transaction.hex) }
        return PaymentReceipt(
            method: method, timestamp: ChallengeExpiry.format(configuration.now()), reference: channel.id.hex,
            fundingCurrency: configuration.token.lowercased, extensions: extensions)
    }

    /// `Payment-Session` and the v2 `Payment-Session-Snapshot` (a recovery hint for the client).
    func headers(_ channel: SessionChannel) -> [String: String] {
        var snapshot: [String: JSONValue] = [
            "acceptedCumulative": .string(channel.accepted.description), "chainId": .integer(Int64(configuration.chainID)),
            "channelId": .string(channel.id.hex), "deposit": .string(channel.deposit.description),
            "escrow": .string(channel.escrow.lowercased),
            "requiredCumulative": .string((channel.spent + configuration.amountPerUnit).description),
            "settled": .string(channel.settled.description), "spent": .string(channel.spent.description),
        ]
        if channel.closeRequestedAt != 0 { snapshot["closeRequestedAt"] = .integer(Int64(clamping: channel.closeRequestedAt)) }
        if channel.version == .v2 { snapshot["descriptor"] = SessionPayload.json(channel.descriptor) }
        var headers = ["Payment-Session": channel.id.hex]
        if let encoded = try? JCS.base64URL(.object(snapshot)) { headers["Payment-Session-Snapshot"] = encoded }
        return headers
    }

    static func unknown(_ id: Hash32) -> PaymentProblem {
        PaymentProblem(.sessionChannelNotFound, detail: "Channel \(id.hex) is not open on this server's escrow.")
    }

    static func internalError(_ detail: String) -> PaymentProblem {
        PaymentProblem(.internalPaymentError, detail: detail)
    }
}
