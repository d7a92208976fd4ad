import Crypto
import EVM
import Foundation
import HTTPTypes
import Ledger

/// x402's `upto` on the resource server: the payment is verified for the route's maximum, the
/// handler runs, and what it charged is settled. A handler charges less than the maximum with the
/// `Settlement-Overrides` response header (`{"amount": "1200"}` in atomic units, `"40%"` of the
/// maximum with at most two decimals, or `"$0.01"` in the token's units, truncated as the official
/// SDK does), which the middleware removes before answering; without it the maximum is charged. An
/// amount of 0 settles nothing.
extension X402Middleware {
    /// The payer and nonce of an `upto` payload (its Permit2 nonce as a 32-byte word); nil when the
    /// payload is not a Permit2 authorization.
    static func uptoIdentity(of payload: PaymentPayload) -> Identity? {
        guard payload.accepted.scheme == X402Facilitator.upto, let authorization = payload.payload["permit2Authorization"],
            let from = authorization["from"]?.stringValue, from.utf8.count == 42, let nonceText = authorization["nonce"]?.stringValue,
            let nonce = try? EVM.UInt256(decimal: nonceText)
        else { return nil }
        let hash = Array(SHA256.hash(data: X402HeaderCodec.json(CanonicalPayment(accepted: payload.accepted, payload: payload.payload))))
        return Identity(payer: from, nonce: nonce.word.hex, hash: hash)
    }

    /// The requirements to settle: for `upto`, the route's with the amount the handler's
    /// `Settlement-Overrides` names; a failure message when the header cannot be applied.
    /// - Parameter decimals: the token's, for a `$` amount; nil when the route's token is unknown.
    static func settlementRequirements(_ requirements: PaymentRequirements, overrides header: String?, decimals: Int? = nil)
        -> Result<PaymentRequirements, SettlementOverrideError>
    {
        guard requirements.scheme == X402Facilitator.upto, let header else { return .success(requirements) }
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(header.utf8)) else {
            return .failure(SettlementOverrideError("Settlement-Overrides is not a JSON object"))
        }
        let raw: String
        switch object["amount"] {
        case nil: return .success(requirements)
        case .string(let text)?: raw = text
        case .number(let text)?: raw = text
        default: return .failure(SettlementOverrideError("Settlement-Overrides amount must be a string or an integer"))
        }
        guard let maximum = try? EVM.UInt256(decimal: requirements.amount) else {
            return .failure(SettlementOverrideError("the route's amount is not an integer"))
        }
        var settled = requirements
        if raw.hasSuffix("%") {
            guard let basisPoints = percentInBasisPoints(raw.dropLast()) else {
                return .failure(SettlementOverrideError("a percentage override has at most two decimals: \(raw)"))
            }
            let (product, overflow) = maximum.multipliedReportingOverflow(by: basisPoints)
            guard !overflow else { return .failure(SettlementOverrideError("the override \(raw) overflows")) }
            settled.amount = product.quotientAndRemainder(dividingBy: 10_000).quotient.description
        } else if let atomic = try? EVM.UInt256(decimal: raw), raw.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
            settled.amount = atomic.description
        } else if raw.hasPrefix("$") {
            guard let decimals else {
                return .failure(
                    SettlementOverrideError("a $ override needs the token's decimals, and \(requirements.asset) is not a configured token"))
            }
            guard let atomic = dollarsInBaseUnits(raw.dropFirst(), decimals: decimals) else {
                return .failure(SettlementOverrideError("a $ override is digits with an optional fraction: \(raw)"))
            }
            settled.amount = atomic.description
        } else {
            return .failure(
                SettlementOverrideError("Settlement-Overrides amount must be atomic units, a percentage or $ amount: \(raw)"))
        }
        return .success(settled)
    }

    /// `0.015` with 6 decimals → 15000: the fraction padded or cut to `decimals` (never rounded up,
    /// as the official SDK's `convert_to_token_amount`).
    static func dollarsInBaseUnits(_ text: Substring, decimals: Int) -> EVM.UInt256? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digits: (Substring) -> Bool = { part in part.utf8.allSatisfy { (0x30...0x39).contains($0) } }
        guard let whole = parts.first, !whole.isEmpty, digits(whole), (0...77).contains(decimals) else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || !fraction.isEmpty, digits(fraction) else { return nil }
        let scaled = String(whole) + String(fraction.prefix(decimals)).padding(toLength: decimals, withPad: "0", startingAt: 0)
        return try? EVM.UInt256(decimal: scaled)
    }

    /// `12.5` → 1250: a percentage with at most two decimals, in hundredths of a percent.
    private static func percentInBasisPoints(_ text: Substring) -> UInt64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.utf8.count <= 6, whole.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let integer = UInt64(whole)
        else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.utf8.count <= 2, fraction.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let hundredths = UInt64(fraction.padding(toLength: 2, withPad: "0", startingAt: 0)) ?? 0
        return integer * 100 + hundredths
    }
}

/// A `Settlement-Overrides` header the middleware cannot apply: the handler's bug, answered 500
/// with nothing settled and nothing served.
struct SettlementOverrideError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension HTTPField.Name {
    /// The handler → middleware header of x402's `upto` (never sent to the client).
    public static let settlementOverrides = HTTPField.Name("Settlement-Overrides")!
}
