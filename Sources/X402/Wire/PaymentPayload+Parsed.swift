import Ledger
import Paywall

/// x402's open JSON parts (the ledger's `JSONValue`) from the strict parser, for
/// ``PaymentPayload/init(parsed:)``: an integer takes the text the `Decodable` form gives it; any
/// other number is refused, and the caller then decodes with `Decodable`.
enum X402JSONTree: JSONTreeBuilder {
    static func null() -> JSONValue { .null }
    static func bool(_ value: Bool) -> JSONValue { .bool(value) }
    static func number(_ text: String, integral: Bool) -> JSONValue? {
        guard integral, let integer = Int64(text) else { return nil }
        return .number(String(integer))
    }
    static func string(_ value: String) -> JSONValue { .string(value) }
    static func array(_ elements: [JSONValue]) -> JSONValue { .array(elements) }
    static func object(_ members: [String: JSONValue]) -> JSONValue { .object(members) }
}

extension PaymentPayload {
    /// The payload the `Decodable` form gives for `json`, or nil when a member is not of the type
    /// that form expects: the caller then decodes with `Decodable`, which stays the only
    /// definition of the form and of every error (`WireTests` compares the two).
    init?(parsed json: JSONValue) {
        guard case .object(let members) = json, let version = Self.int(members["x402Version"]),
            let accepted = PaymentRequirements(parsed: members["accepted"]), let payload = members["payload"],
            let resource = Self.optional(members["resource"], ResourceInfo.init(parsed:)),
            let extensions = Self.optional(members["extensions"], { if case .object(let o) = $0 { o } else { nil } })
        else { return nil }
        self.init(x402Version: version, resource: resource, accepted: accepted, payload: payload, extensions: extensions)
    }

    /// An `Int` member.
    static func int(_ value: JSONValue?) -> Int? {
        if case .number(let text)? = value { Int(text) } else { nil }
    }

    /// A `String` member.
    static func string(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value { text } else { nil }
    }

    /// An optional member as `decodeIfPresent` reads it: absent or null is `.some(nil)`; a value
    /// `read` cannot take is nil.
    static func optional<T>(_ value: JSONValue?, _ read: (JSONValue) -> T?) -> T?? {
        guard let value, value != .null else { return .some(nil) }
        return read(value).map { .some($0) }
    }
}

extension PaymentRequirements {
    init?(parsed json: JSONValue?) {
        typealias P = PaymentPayload
        guard case .object(let m)? = json, let scheme = P.string(m["scheme"]), let network = P.string(m["network"]),
            let amount = P.string(m["amount"]), let asset = P.string(m["asset"]), let payTo = P.string(m["payTo"]),
            let timeout = P.int(m["maxTimeoutSeconds"]),
            let extra = P.optional(m["extra"], { if case .object(let o) = $0 { o } else { nil } })
        else { return nil }
        self.init(scheme: scheme, network: network, amount: amount, asset: asset, payTo: payTo, maxTimeoutSeconds: timeout, extra: extra)
    }
}

extension ResourceInfo {
    init?(parsed json: JSONValue) {
        typealias P = PaymentPayload
        guard case .object(let m) = json, let url = P.string(m["url"]), let description = P.optional(m["description"], P.string),
            let mimeType = P.optional(m["mimeType"], P.string)
        else { return nil }
        self.init(url: url, description: description, mimeType: mimeType)
    }
}

extension FacilitatorRequest {
    /// A v2 `/verify` or `/settle` body as `Decodable` gives it, or nil (see ``PaymentPayload/init(parsed:)``).
    init?(parsed json: JSONValue) {
        guard case .object(let m) = json, let version = PaymentPayload.int(m["x402Version"]), version == 2,
            let payload = m["paymentPayload"].flatMap(PaymentPayload.init(parsed:)),
            let requirements = PaymentRequirements(parsed: m["paymentRequirements"])
        else { return nil }
        self.init(x402Version: version, paymentPayload: payload, paymentRequirements: requirements)
    }
}
