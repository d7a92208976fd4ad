import CardRail
import DevChain
import ERC20Rail
import EVM
import Ledger
import RailKit
import TempoRail
import X402

/// A stack that serves: its addresses, the chains (for fault injection), the rails, and the ledger
/// every payment is booked in. Valid only inside ``Stack/run(database:embedded:_:)``'s body.
public struct RunningStack: Sendable {
    /// One way to pay the paid route.
    public struct Offer: Sendable {
        /// `x402` or `mpp`.
        public var scheme: String
        /// The x402 scheme, or the MPP `method/intent`.
        public var kind: String
        public var network: String
        public var asset: String
        /// Base units per call.
        public var amount: String
        public var feeSponsored: Bool?
        /// The revenue account it is booked to, when not ``RunningStack/merchantAccount``.
        public var merchantAccount: String?
    }

    public var configuration: StackConfiguration
    /// The merchant server, e.g. `http://127.0.0.1:8402`.
    public var server: String
    public var paidURL: String { server + "/paid/joke" }
    /// A usage-priced route: x402 `upto`, charged per token of the answer up to ``tokensOffer``'s amount.
    public var tokensURL: String { server + "/paid/tokens" }
    public var mcpURL: String { server + "/mcp" }
    public var facilitatorURL: String { server + "/x402/facilitator" }
    public var ledgerURL: String
    public var cardmockURL: String
    /// An admin key of the ledger API.
    public var apiKey: String

    /// The ERC-20 dev chain (USDC with EIP-3009) and its JSON-RPC.
    public var chain: DevChain
    public var chainInfo: DevChainInfo
    public var rpcURL: String
    /// The Tempo dev chain (pathUSD, the session escrows) and its JSON-RPC.
    public var tempo: DevChain
    public var tempoInfo: DevChainInfo
    public var tempoURL: String
    /// The Tempo chain's CAIP-2 network.
    public var tempoNetwork: String { "eip155:\(tempoInfo.chainId)" }

    public var ledger: PostgresLedger
    public var booker: RailBooker
    public var chainRail: ERC20Rail
    public var tempoRail: TempoRail
    public var cardRail: CardRail

    /// The x402 exact token (USDC on the ERC-20 chain).
    public var token: X402Token
    /// The pathUSD asset MPP tempo/charge and tempo/session are booked in.
    public var pathUSDAsset: Asset
    /// Revenue accounts: USDC (x402 and evm/charge), pathUSD (MPP on Tempo), card (stripe/charge).
    public var merchantAccount: AccountID
    public var tempoMerchantAccount: AccountID
    public var cardMerchantAccount: AccountID
    /// Where the merchant is paid on both chains.
    public var payTo: Address
    public var offers: [Offer]
    /// How ``tokensURL`` is paid: its `amount` is the maximum a client signs.
    public var tokensOffer: Offer
}
