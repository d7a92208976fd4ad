import Foundation

/// The proof of payment a paid response carries: `Payment-Receipt: <base64url_nopad(JSON)>`
/// (spec §1.5; pympp `format_payment_receipt`). Never sent on an error response.
public struct PaymentReceipt: Sendable, Hashable {
    /// Always `success`: failures are problems, not receipts.
    public var status: String { "success" }
    /// The payment method that settled, e.g. `tempo`.
    public var method: String
    /// When it settled, RFC 3339 (`2026-11-24T18:12:42.188008Z`).
    public var timestamp: String
    /// The settlement's reference: a transaction hash, PaymentIntent id, channel id or challenge id.
    public var reference: String
    /// The merchant's own reference.
    public var externalId: String?
    /// The subscription paid, for the subscription intent.
    public var subscriptionId: String?
    /// The token or currency the payment was funded in.
    public var fundingCurrency: String?
    /// Method-specific data.
    public var extra: [String: JSONValue]?
    /// Members this version does not know, kept so that a receipt round-trips (the spec requires it).
    public var extensions: [String: JSONValue]

    private static let baseMembers: Set<String> = [
        "status", "timestamp", "reference", "method", "externalId", "subscriptionId", "fundingCurrency", "extra",
    ]

    /// Creates a receipt.
    public init(
        method: String, timestamp: String, reference: String, externalId: String? = nil, subscriptionId: String? = nil,
        fundingCurrency: String? = nil, extra: [String: JSONValue]? = nil, extensions: [String: JSONValue] = [:]
    ) {
        self.method = method
        self.timestamp = timestamp
        self.reference = reference
        self.externalId = externalId
        self.subscriptionId = subscriptionId
        self.fundingCurrency = fundingCurrency
        self.extra = extra
        self.extensions = extensions
    }

    /// The receipt as a JSON object; unknown extensions never override the base members.
    public var json: JSONValue {
        var members = extensions.filter { !Self.baseMembers.contains($0.key) }
        members["status"] = .string(status)
        members["method"] = .string(method)
        members["timestamp"] = .string(timestamp)
        members["reference"] = .string(reference)
        if let externalId, !externalId.isEmpty { members["externalId"] = .string(externalId) }
        if let subscriptionId, !subscriptionId.isEmpty { members["subscriptionId"] = .string(subscriptionId) }
        if let fundingCurrency, !fundingCurrency.isEmpty { members["fundingCurrency"] = .string(fundingCurrency) }
        if let extra, !extra.isEmpty { members["extra"] = .object(extra) }
        return .object(members)
    }

    /// The `Payment-Receipt` value: `base64url_nopad(JCS(receipt))`.
    /// - Throws: ``MPPWireError/Code/notCanonicalizable`` when `extra` or an extension holds a value
    ///   JCS refuses.
    public func headerValue() throws(MPPWireError) -> String {
        try JCS.base64URL(json)
    }

    /// Parses a `Payment-Receipt` value (what a client does; the server's own round trip in tests).
    /// - Throws: ``MPPWireError`` when it does not decode, lacks `status`, `timestamp`, `reference`
    ///   or `method`, or its status is not `success`.
    public static func parse(_ value: String) throws(MPPWireError) -> PaymentReceipt {
        let members = try Base64URL.decodeJSONObject(value.trimmingCharacters(in: .whitespaces))
        func required(_ name: String) throws(MPPWireError) -> String {
            guard let value = members[name]?.stringValue else { throw MPPWireError(.missingParameter, "no '\(name)'") }
            return value
        }
        guard try required("status") == "success" else { throw MPPWireError(.invalidParameter, "status is not success") }
        let method = try required("method")
        try PaymentChallenge.validateMethod(method)
        return PaymentReceipt(
            method: method, timestamp: try required("timestamp"), reference: try required("reference"),
            externalId: members["externalId"]?.stringValue, subscriptionId: members["subscriptionId"]?.stringValue,
            fundingCurrency: members["fundingCurrency"]?.stringValue, extra: members["extra"]?.objectValue,
            extensions: members.filter { !baseMembers.contains($0.key) })
    }
}
