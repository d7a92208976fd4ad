import Foundation

/// What a ``Stack`` runs: its ports (0: any free one), the paid route's price, the chain rail's
/// confirmations, where the card processor mock keeps its data, and how the card rail is named.
public struct StackConfiguration: Sendable {
    /// The merchant server: the paid route, the MCP tool and the x402 facilitator.
    public var port: Int
    public var apiPort: Int
    public var chainPort: Int
    public var tempoPort: Int
    public var cardmockPort: Int
    /// Price of one call of the paid route, in USDC (and pathUSD) base units (6 decimals).
    public var price: Int
    /// Blocks after which an ERC-20 payment is final in the ledger.
    public var confirmations: Int
    /// The card processor mock's data directory (one stack at a time may use it: a second waits).
    public var cardmockDirectory: String
    /// The card rail's id; the demo takes one per run so that each run's card day is its own.
    public var cardRailID: String
    /// The card rail's asset prefix (nil: the rail's default `card`).
    public var cardAssetPrefix: String?
    /// Whether the stack pulls its rails every second. The demo pulls them itself, at the moments its
    /// faults need (a payment final before its reorg, a processor event never pulled).
    public var watchesRails: Bool
    /// The label of the admin API key the stack makes, and the merchant server's name.
    public var label: String
    /// Suffix of the chain rails' ids: the dev chains are new on every run, and so are their rails,
    /// whose cursors belong to one chain.
    public var runTag: String

    public init(
        port: Int = 8402, apiPort: Int = 8080, chainPort: Int = 8545, tempoPort: Int = 8546, cardmockPort: Int = 12111, price: Int = 1_000,
        confirmations: Int = 2, cardmockDirectory: String, cardRailID: String = "sandbox-card", cardAssetPrefix: String? = nil,
        watchesRails: Bool = true, label: String = "settle sandbox",
        runTag: String = String(UInt64(Date().timeIntervalSince1970), radix: 36)
    ) {
        self.port = port
        self.apiPort = apiPort
        self.chainPort = chainPort
        self.tempoPort = tempoPort
        self.cardmockPort = cardmockPort
        self.price = price
        self.confirmations = confirmations
        self.cardmockDirectory = cardmockDirectory
        self.cardRailID = cardRailID
        self.cardAssetPrefix = cardAssetPrefix
        self.watchesRails = watchesRails
        self.label = label
        self.runTag = runTag
    }

    /// `$SETTLE_HOME`, else `~/.settle`: where local state lives.
    public static var home: String {
        ProcessInfo.processInfo.environment["SETTLE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.settle"
    }
}
