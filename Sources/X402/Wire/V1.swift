import Ledger

/// x402 version 1 requirements: `maxAmountRequired` instead of `amount`, a network name instead
/// of a CAIP-2 id, and the resource inside each requirement.
public struct PaymentRequirementsV1: Sendable, Hashable, Codable {
    public var scheme: String
    public var network: String
    public var maxAmountRequired: String
    public var resource: String
    public var description: String
    public var mimeType: String
    public var outputSchema: JSONValue?
    public var payTo: String
    public var maxTimeoutSeconds: Int
    public var asset: String
    public var extra: [String: JSONValue]?

    public init(
        scheme: String, network: String, maxAmountRequired: String, resource: String, description: String, mimeType: String,
        outputSchema: JSONValue? = nil, payTo: String, maxTimeoutSeconds: Int, asset: String, extra: [String: JSONValue]?
    ) {
        self.scheme = scheme
        self.network = network
        self.maxAmountRequired = maxAmountRequired
        self.resource = resource
        self.description = description
        self.mimeType = mimeType
        self.outputSchema = outputSchema
        self.payTo = payTo
        self.maxTimeoutSeconds = maxTimeoutSeconds
        self.asset = asset
        self.extra = extra
    }
}

/// The v1 402 body: `{x402Version: 1, error, accepts}`.
public struct PaymentRequiredV1: Sendable, Hashable, Codable {
    public var x402Version: Int
    public var error: String
    public var accepts: [PaymentRequirementsV1]

    public init(error: String, accepts: [PaymentRequirementsV1]) {
        self.x402Version = 1
        self.error = error
        self.accepts = accepts
    }
}

/// A v1 payment (`X-PAYMENT`): no `accepted` copy, only the scheme and network name.
public struct PaymentPayloadV1: Sendable, Hashable, Codable {
    public var x402Version: Int
    public var scheme: String
    public var network: String
    public var payload: JSONValue

    public init(scheme: String, network: String, payload: JSONValue) {
        self.x402Version = 1
        self.scheme = scheme
        self.network = network
        self.payload = payload
    }
}

/// v1 network names and their EIP-155 chain ids (`x402/mechanisms/evm/v1/constants.py`), plus
/// whatever a deployment adds for its own chains.
public enum X402NetworkNames {
    public static let known: [String: UInt64] = [
        "base": 8453, "base-sepolia": 84532, "avalanche": 43114, "avalanche-fuji": 43113, "polygon": 137, "polygon-amoy": 80002,
        "iotex": 4689, "sei": 1329, "sei-testnet": 1328, "abstract": 2741, "peaq": 3338, "story": 1514, "educhain": 41923,
        "ethereum": 1, "sepolia": 11_155_111, "celo": 42220, "monad": 143,
    ]
}
