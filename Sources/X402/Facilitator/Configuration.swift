import EVM
import Foundation
import Ledger

/// A token the facilitator settles: where it lives and its EIP-712 domain, which comes from this
/// configuration, never from the client.
public struct X402Token: Sendable, Hashable {
    public var chainID: UInt64
    public var address: Address
    /// EIP-712 domain `name` (`USD Coin`, or `USDC` on Base Sepolia).
    public var name: String
    public var version: String
    public var decimals: Int
    /// The ledger asset it is booked as.
    public var assetID: AssetID
    public var code: String

    public init(chainID: UInt64, address: Address, name: String, version: String, decimals: Int, assetID: AssetID, code: String = "USDC") {
        self.chainID = chainID
        self.address = address
        self.name = name
        self.version = version
        self.decimals = decimals
        self.assetID = assetID
        self.code = code
    }

    /// `eip155:<chainID>`.
    public var network: String { "eip155:\(chainID)" }
    public var domain: TokenDomain { TokenDomain(name: name, version: version, chainID: EVM.UInt256(chainID), verifyingContract: address) }

    /// The ledger asset: rail `erc20`, the CAIP-2 network and the lowercase token address.
    public var ledgerAsset: Asset {
        Asset(id: assetID, code: code, scale: decimals, rail: "erc20", network: network, token: address.lowercased)
    }
}

/// What the facilitator settles, with which key, and how carefully.
public struct X402FacilitatorConfiguration: Sendable {
    /// On-chain checks of `verify`; each is one `eth_call`. Off, verify is signature, binding,
    /// time window and the durable store only.
    public struct ChainChecks: Sendable, Hashable {
        /// `authorizationState(from, nonce)`: refuse a nonce already used on chain.
        public var authorizationState: Bool
        /// `balanceOf(from) >= value`.
        public var balance: Bool

        public init(authorizationState: Bool, balance: Bool) {
            self.authorizationState = authorizationState
            self.balance = balance
        }

        public static let all = ChainChecks(authorizationState: true, balance: true)
        public static let none = ChainChecks(authorizationState: false, balance: false)
    }

    public var tokens: [X402Token]
    /// The key that submits settlements and pays their gas.
    public var signer: PrivateKey
    public var chainChecks: ChainChecks
    /// `validBefore` must leave at least this many seconds (6, as the reference facilitator).
    public var validityMargin: UInt64
    /// Requirements asking for a longer window are refused; holds last this plus 60 s.
    public var maxTimeoutSeconds: Int
    /// Blocks deep a settlement's receipt must be before the facilitator stops following it
    /// (``X402Facilitator/follow(limit:)``): until then a reorganization that drops it is repaired.
    public var finality: UInt64
    /// How long `settle` waits for a receipt before answering `settlement_pending`.
    public var receiptTimeout: Duration
    public var receiptPollInterval: Duration
    /// A reservation idle this long with no transaction is taken over (its owner died).
    public var reservationLease: Duration
    /// Gas for `transferWithAuthorization` when estimation is off; else the estimate plus 25 %.
    public var gasLimit: UInt64
    public var estimateGas: Bool
    public var maxPriorityFeePerGas: EVM.UInt256
    /// Fixed max fee; nil: twice `eth_gasPrice` (read at most once a second).
    public var maxFeePerGas: EVM.UInt256?
    /// The `payTo` addresses it settles for (lowercase) and the ledger account credited for each.
    /// A payment to any other address is refused (`invalid_exact_evm_payload_recipient_mismatch`)
    /// before any gas is spent: the facilitator pays gas and books revenue only for its merchants.
    public var merchantAccounts: [String: AccountID]
    /// The rail id of the ledger bookings.
    public var railID: String
    /// Unix seconds now.
    public var clock: @Sendable () -> UInt64

    public init(
        tokens: [X402Token], signer: PrivateKey, chainChecks: ChainChecks = .all, validityMargin: UInt64 = 6, maxTimeoutSeconds: Int = 600,
        receiptTimeout: Duration = .seconds(10), receiptPollInterval: Duration = .milliseconds(20),
        reservationLease: Duration = .seconds(30), gasLimit: UInt64 = 150_000, estimateGas: Bool = true,
        maxPriorityFeePerGas: EVM.UInt256 = 1_000_000_000, maxFeePerGas: EVM.UInt256? = nil, merchantAccounts: [String: AccountID] = [:],
        railID: String = "x402", finality: UInt64 = 12,
        clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }
    ) {
        self.tokens = tokens
        self.signer = signer
        self.chainChecks = chainChecks
        self.validityMargin = validityMargin
        self.maxTimeoutSeconds = maxTimeoutSeconds
        self.receiptTimeout = receiptTimeout
        self.receiptPollInterval = receiptPollInterval
        self.reservationLease = reservationLease
        self.gasLimit = gasLimit
        self.estimateGas = estimateGas
        self.maxPriorityFeePerGas = maxPriorityFeePerGas
        self.maxFeePerGas = maxFeePerGas
        self.merchantAccounts = merchantAccounts
        self.railID = railID
        self.finality = max(1, finality)
        self.clock = clock
    }

    func token(network: String, asset: String) -> X402Token? {
        let lower = asset.lowercased()
        return tokens.first { $0.network == network && $0.address.lowercased == lower }
    }

    /// The merchant account of a configured `payTo`; nil for any other address.
    func merchant(for payTo: Address) -> AccountID? {
        merchantAccounts[payTo.lowercased]
    }
}
