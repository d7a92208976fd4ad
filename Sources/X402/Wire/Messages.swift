import Ledger

/// The resource a payment is for (spec v2 §5.1).
public struct ResourceInfo: Sendable, Hashable, Codable {
    public var url: String
    public var description: String?
    public var mimeType: String?

    public init(url: String, description: String? = nil, mimeType: String? = nil) {
        self.url = url
        self.description = description
        self.mimeType = mimeType
    }
}

/// One way to pay for a resource (spec v2 §5.1): the scheme, the CAIP-2 network, the amount in
/// atomic units, the token, the recipient and, for EVM `exact`, the token's EIP-712 domain in
/// `extra` (`name`, `version`).
public struct PaymentRequirements: Sendable, Hashable, Codable {
    public var scheme: String
    public var network: String
    /// Atomic units, a decimal string.
    public var amount: String
    public var asset: String
    public var payTo: String
    public var maxTimeoutSeconds: Int
    public var extra: [String: JSONValue]?

    public init(
        scheme: String = "exact", network: String, amount: String, asset: String, payTo: String, maxTimeoutSeconds: Int,
        extra: [String: JSONValue]? = nil
    ) {
        self.scheme = scheme
        self.network = network
        self.amount = amount
        self.asset = asset
        self.payTo = payTo
        self.maxTimeoutSeconds = maxTimeoutSeconds
        self.extra = extra
    }

    /// The `exact` EVM requirements of a token: `extra` carries its EIP-712 `name` and `version`.
    public static func exact(
        network: String, amount: String, asset: String, payTo: String, maxTimeoutSeconds: Int = 60, name: String, version: String
    ) -> PaymentRequirements {
        PaymentRequirements(
            network: network, amount: amount, asset: asset, payTo: payTo, maxTimeoutSeconds: maxTimeoutSeconds,
            extra: ["name": .string(name), "version": .string(version)])
    }

    /// Whether `other` asks for the same payment: same scheme, network, amount, and the same asset
    /// and recipient (addresses compared without regard to case).
    public func sameTerms(as other: PaymentRequirements) -> Bool {
        scheme == other.scheme && network == other.network && amount == other.amount
            && asset.lowercased() == other.asset.lowercased() && payTo.lowercased() == other.payTo.lowercased()
    }
}

/// The 402 answer (spec v2 §5.1), carried base64-encoded in `PAYMENT-REQUIRED`.
public struct PaymentRequired: Sendable, Hashable, Codable {
    public var x402Version: Int
    public var error: String?
    public var resource: ResourceInfo
    public var accepts: [PaymentRequirements]
    public var extensions: [String: JSONValue]?

    public init(
        x402Version: Int = 2, error: String? = nil, resource: ResourceInfo, accepts: [PaymentRequirements],
        extensions: [String: JSONValue]? = nil
    ) {
        self.x402Version = x402Version
        self.error = error
        self.resource = resource
        self.accepts = accepts
        self.extensions = extensions
    }
}

/// A signed payment (spec v2 §5.2), carried base64-encoded in `PAYMENT-SIGNATURE`.
public struct PaymentPayload: Sendable, Hashable, Codable {
    public var x402Version: Int
    public var resource: ResourceInfo?
    /// The client's copy of the offer it chose.
    public var accepted: PaymentRequirements
    /// The scheme's payload; for EVM `exact` an ``ExactEvmPayload``.
    public var payload: JSONValue
    public var extensions: [String: JSONValue]?

    public init(
        x402Version: Int = 2, resource: ResourceInfo? = nil, accepted: PaymentRequirements, payload: JSONValue,
        extensions: [String: JSONValue]? = nil
    ) {
        self.x402Version = x402Version
        self.resource = resource
        self.accepted = accepted
        self.payload = payload
        self.extensions = extensions
    }

    /// The `payment-identifier` extension's `info.id`, when the client sent one.
    public var paymentIdentifier: String? {
        extensions?["payment-identifier"]?["info"]?["id"]?.stringValue
    }
}

/// The EVM `exact` payload with an EIP-3009 authorization; every value is a string.
public struct ExactEvmPayload: Sendable, Hashable, Codable {
    public struct Authorization: Sendable, Hashable, Codable {
        public var from: String
        public var to: String
        public var value: String
        public var validAfter: String
        public var validBefore: String
        /// `0x` and 64 hex digits.
        public var nonce: String

        public init(from: String, to: String, value: String, validAfter: String, validBefore: String, nonce: String) {
            self.from = from
            self.to = to
            self.value = value
            self.validAfter = validAfter
            self.validBefore = validBefore
            self.nonce = nonce
        }
    }

    /// `0x` and 65 bytes `r ‖ s ‖ v`.
    public var signature: String
    public var authorization: Authorization

    public init(signature: String, authorization: Authorization) {
        self.signature = signature
        self.authorization = authorization
    }
}

/// `/verify`'s answer. HTTP 200 even when invalid.
public struct VerifyResponse: Sendable, Hashable, Codable {
    public var isValid: Bool
    public var invalidReason: X402Reason?
    public var invalidMessage: String?
    public var payer: String?
    /// Scheme data: batch-settlement's channel snapshot (`channelId`, `balance`, `totalClaimed`,
    /// `withdrawRequestedAt`, `refundNonce`).
    public var extra: [String: JSONValue]?

    public init(
        isValid: Bool, invalidReason: X402Reason? = nil, invalidMessage: String? = nil, payer: String? = nil,
        extra: [String: JSONValue]? = nil
    ) {
        self.isValid = isValid
        self.invalidReason = invalidReason
        self.invalidMessage = invalidMessage
        self.payer = payer
        self.extra = extra
    }

    public static func invalid(_ reason: X402Reason, _ message: String? = nil, payer: String? = nil) -> VerifyResponse {
        VerifyResponse(isValid: false, invalidReason: reason, invalidMessage: message, payer: payer)
    }
}

/// `/settle`'s answer, and what `PAYMENT-RESPONSE` carries. `success:false` with
/// ``X402Reason/settlementPending`` and a transaction hash is not a failure yet, and never credit.
public struct SettleResponse: Sendable, Hashable, Codable {
    public var success: Bool
    public var errorReason: X402Reason?
    public var errorMessage: String?
    public var payer: String?
    /// The transaction hash; `""` when there is none.
    public var transaction: String
    public var network: String
    public var amount: String?
    /// Scheme data: batch-settlement's `chargedAmount` and `channelState`.
    public var extra: [String: JSONValue]?

    public init(
        success: Bool, errorReason: X402Reason? = nil, errorMessage: String? = nil, payer: String? = nil, transaction: String,
        network: String, amount: String? = nil, extra: [String: JSONValue]? = nil
    ) {
        self.success = success
        self.errorReason = errorReason
        self.errorMessage = errorMessage
        self.payer = payer
        self.transaction = transaction
        self.network = network
        self.amount = amount
        self.extra = extra
    }

    /// Broadcast, but its receipt was not seen yet: ask again with the same payload.
    public var isPending: Bool { !success && errorReason == .settlementPending }
}

/// `/supported`'s answer.
public struct SupportedResponse: Sendable, Hashable, Codable {
    public struct Kind: Sendable, Hashable, Codable {
        public var x402Version: Int
        public var scheme: String
        public var network: String
        public var extra: [String: JSONValue]?

        public init(x402Version: Int, scheme: String, network: String, extra: [String: JSONValue]? = nil) {
            self.x402Version = x402Version
            self.scheme = scheme
            self.network = network
            self.extra = extra
        }
    }

    public var kinds: [Kind]
    public var extensions: [String]
    /// CAIP-2 family (`eip155:*`) → the addresses that submit settlements.
    public var signers: [String: [String]]

    public init(kinds: [Kind], extensions: [String] = [], signers: [String: [String]] = [:]) {
        self.kinds = kinds
        self.extensions = extensions
        self.signers = signers
    }

    enum CodingKeys: String, CodingKey { case kinds, extensions, signers }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kinds = try c.decode([Kind].self, forKey: .kinds)
        extensions = try c.decodeIfPresent([String].self, forKey: .extensions) ?? []
        signers = try c.decodeIfPresent([String: [String]].self, forKey: .signers) ?? [:]
    }
}

/// The body of `POST /verify` and `POST /settle` (v2).
public struct FacilitatorRequest: Sendable, Hashable, Codable {
    public var x402Version: Int
    public var paymentPayload: PaymentPayload
    public var paymentRequirements: PaymentRequirements

    public init(x402Version: Int = 2, paymentPayload: PaymentPayload, paymentRequirements: PaymentRequirements) {
        self.x402Version = x402Version
        self.paymentPayload = paymentPayload
        self.paymentRequirements = paymentRequirements
    }
}
