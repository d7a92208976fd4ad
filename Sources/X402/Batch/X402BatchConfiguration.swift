import EVM
import Foundation
import Ledger

/// What Settle's batch-settlement facilitator and server work with: the token, the keys, the
/// receivers it serves and the rules of its channels.
public struct X402BatchConfiguration: Sendable {
    /// The token channels are opened in; its EIP-712 domain comes from here, never from a client.
    public var token: X402Token
    /// Submits deposits, claims, settlements and refunds, and pays their gas.
    public var signer: PrivateKey
    /// The receiver authorizer: signs claim batches and cooperative refunds. Channels name its
    /// address as `receiverAuthorizer`, and `/supported` advertises it.
    public var receiverAuthorizer: PrivateKey
    /// The receivers (`payTo`, lowercase) served and each one's ledger revenue account; a channel
    /// to any other receiver is refused (`invalid_batch_settlement_evm_receiver_mismatch`).
    public var merchantAccounts: [String: AccountID]
    /// Seconds a payer waits between `initiateWithdraw` and `finalizeWithdraw`: announced in the
    /// 402 and required of every channel.
    public var withdrawDelay: UInt64
    /// The `x402BatchSettlement` contract.
    public var contract: Address
    /// A channel's chain state read this recently lets a voucher be verified without a chain read.
    public var chainStateTTL: Duration
    /// Seconds a claim needs to land: vouchers are refused on a channel whose payer's withdrawal
    /// can complete within this time (decision 0038).
    public var claimMargin: UInt64
    /// Blocks deep a transaction must be before it is no longer followed.
    public var finality: UInt64
    /// How long a transaction's receipt is waited for.
    public var receiptTimeout: Duration
    public var receiptPollInterval: Duration
    public var maxPriorityFeePerGas: EVM.UInt256
    /// Unix seconds now.
    public var clock: @Sendable () -> UInt64

    public init(
        token: X402Token, signer: PrivateKey, receiverAuthorizer: PrivateKey, merchantAccounts: [String: AccountID],
        withdrawDelay: UInt64 = 900, contract: Address = BatchSettlement.address, chainStateTTL: Duration = .seconds(30),
        claimMargin: UInt64 = 60,
        receiptTimeout: Duration = .seconds(10), receiptPollInterval: Duration = .milliseconds(10), finality: UInt64 = 12,
        maxPriorityFeePerGas: EVM.UInt256 = 1_000_000_000,
        clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }
    ) {
        self.token = token
        self.signer = signer
        self.receiverAuthorizer = receiverAuthorizer
        self.merchantAccounts = merchantAccounts
        self.withdrawDelay = withdrawDelay
        self.contract = contract
        self.chainStateTTL = chainStateTTL
        self.claimMargin = claimMargin
        self.finality = finality
        self.receiptTimeout = receiptTimeout
        self.receiptPollInterval = receiptPollInterval
        self.maxPriorityFeePerGas = maxPriorityFeePerGas
        self.clock = clock
    }

    /// The contract's EIP-712 domain on the token's chain: channel ids, vouchers, claims, refunds.
    public var domain: TokenDomain { BatchSettlement.domain(chainID: token.chainID, contract: contract) }

    /// How a route's deposits reach the contract: its `assetTransferMethod`.
    public enum DepositMethod: String, Sendable {
        /// ERC-3009 `receiveWithAuthorization` through the ERC-3009 collector (the scheme's default).
        case erc3009 = "eip3009"
        /// A Permit2 witness transfer through the Permit2 collector, for tokens without ERC-3009;
        /// the payer approves Permit2 once beforehand.
        case permit2
    }

    /// The 402 offer of a route priced `amount`: the scheme's `extra` carries the receiver
    /// authorizer, the withdrawal delay, the token's EIP-712 domain, the smallest deposit
    /// (`minDeposit`, by default ten calls) and, for Permit2 deposits, `assetTransferMethod`.
    public func requirements(
        amount: String, payTo: Address, maxTimeoutSeconds: Int = 60, minDeposit: String? = nil, depositMethod: DepositMethod = .erc3009
    ) -> PaymentRequirements {
        let price = (try? EVM.UInt256(decimal: amount)) ?? .zero
        let floor = minDeposit ?? price.multipliedReportingOverflow(by: 10).partialValue.description
        var extra: [String: JSONValue] = [
            "receiverAuthorizer": .string(receiverAuthorizer.address.checksummed), "withdrawDelay": .number(String(withdrawDelay)),
            "name": .string(token.name), "version": .string(token.version), "minDeposit": .string(floor),
        ]
        if depositMethod == .permit2 { extra["assetTransferMethod"] = .string(depositMethod.rawValue) }
        return PaymentRequirements(
            scheme: X402BatchFacilitator.scheme, network: token.network, amount: amount, asset: token.address.checksummed,
            payTo: payTo.checksummed, maxTimeoutSeconds: maxTimeoutSeconds, extra: extra)
    }
}
