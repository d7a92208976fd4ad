import EVM
import Foundation
import MPP

/// An agent paying with MPP `tempo/session`: opens a channel on the route's escrow with a deposit
/// for a number of calls, pays each call with a signed cumulative voucher (one signature, no
/// transaction), then closes the channel: the merchant settles what the vouchers spent on chain
/// and the rest of the deposit goes back to the agent.
public struct TempoSessionAgent: Sendable {
    public var key: PrivateKey

    public init(key: PrivateKey) { self.key = key }

    /// What a session paid.
    public struct Session: Sendable {
        /// The channel id, as the Tempo rail's accounts name it.
        public var channel: String
        /// The calls paid and the cumulative amount of the last voucher, in base units.
        public var calls: Int
        public var spent: EVM.UInt256
        /// The close transaction's hash, from the close's receipt.
        public var closeReference: String
    }

    /// Opens a channel, pays `calls` calls on `url`, closes it. `paid` is called after each call.
    public func pay(_ url: String, calls: Int, paid: @Sendable () -> Void = {}) async throws -> Session {
        let challenge = try await PaidRoute.challenge(url).challenge(method: "tempo", intent: "session")
        let request = try challenge.requestObject()
        let details = request["methodDetails"]?.objectValue ?? [:]
        guard let price = request["amount"]?.stringValue.flatMap({ try? EVM.UInt256(decimal: $0) }),
            let token = request["currency"]?.stringValue.flatMap({ try? Address($0) }),
            let payee = request["recipient"]?.stringValue.flatMap({ try? Address($0) }),
            let escrow = details["escrowContract"]?.stringValue.flatMap({ try? Address($0) }),
            case .integer(let chain)? = details["chainId"], details["sessionProtocol"]?.stringValue == TempoChannelEscrow.v2.rawValue
        else { throw StackError(.noOffer, "the tempo/session challenge lacks its price, currency, recipient, v2 escrow or chain") }
        let chainID = UInt64(chain)
        let (deposit, overflow) = price.multipliedReportingOverflow(by: UInt64(max(1, calls)))
        guard !overflow else { throw StackError(.refused, "a deposit for \(calls) calls overflows") }

        // Open: the agent's own transaction (fee in the channel's token), the descriptor the
        // escrow derives the channel id from.
        let salt = Keccak256.hash(key.bytes + Array(UUID().uuidString.utf8))
        let operatorAddress = details["operator"]?.stringValue.flatMap { try? Address($0) } ?? .zero
        let open = ABI.encodeCall(
            "open(address,address,address,uint96,bytes32,address)",
            [.address(payee), .address(operatorAddress), .address(token), .uint(deposit), .bytes32(salt), .address(.zero)])
        let transaction = TempoTransaction(
            chainID: chainID, maxPriorityFeePerGas: 0, maxFeePerGas: 20_000_000_000, gasLimit: 1_000_000,
            calls: [TempoCall(to: escrow, input: open)], nonceKey: EVM.UInt256(UInt64.random(in: 1...UInt64.max)), feeToken: token
        ).signed(with: key)
        let descriptor = TempoChannelDescriptor(
            payer: key.address, payee: payee, operator: operatorAddress, token: token, salt: salt, authorizedSigner: .zero,
            expiringNonceHash: Keccak256.hash(transaction.transaction.senderPreimage + key.address.bytes))
        let channel = descriptor.channelID(escrow: escrow, chainID: chainID)
        let domain = TempoChannelEscrow.v2.domain(chainID: chainID, escrow: escrow)
        func voucher(_ action: String, _ cumulative: EVM.UInt256) -> MPP.JSONValue {
            let digest = TempoChannelEscrow.v2.voucherDigest(channelID: channel, cumulativeAmount: cumulative, domain: domain)
            return .object([
                "action": .string(action), "channelId": .string(channel.hex), "cumulativeAmount": .string(cumulative.description),
                "signature": .string(key.sign(digest: digest).hex),
            ])
        }
        _ = try await PaymentCredential(
            challenge: challenge,
            payload: .object([
                "action": .string("open"), "type": .string("transaction"), "channelId": .string(channel.hex),
                "transaction": .string(transaction.rawHex), "cumulativeAmount": .string("0"),
            ])
        ).pay(url, scheme: "mpp tempo/session open", management: true)

        var spent = EVM.UInt256.zero
        for _ in 0..<calls {
            spent = spent + price
            _ = try await PaymentCredential(challenge: challenge, payload: voucher("voucher", spent)).pay(url, scheme: "mpp tempo/session")
            paid()
        }
        let (closeReference, _) = try await PaymentCredential(challenge: challenge, payload: voucher("close", spent)).pay(
            url, scheme: "mpp tempo/session close", management: true)
        return Session(channel: channel.hex, calls: calls, spent: spent, closeReference: closeReference)
    }
}
