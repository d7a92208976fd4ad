import EVM
import Ledger
import MPP
import X402

/// The `evm/charge` credential payload: an EIP-3009 authorization and its signature, every value a
/// string, read as strictly as pympp does (`0x` and 40 or 64 hex digits, decimal integers of at
/// most 78 digits that fit 256 bits, a 65-byte signature).
struct EVMAuthorizationPayload: Sendable {
    var from: Address
    var to: Address
    var value: EVM.UInt256
    var validAfter: EVM.UInt256
    var validBefore: EVM.UInt256
    var nonce: Hash32
    /// `0x` and 130 hex digits, as sent.
    var signature: String

    /// - Throws: ``PaymentProblem/Code/invalidPayload`` naming the first malformed member.
    init(_ payload: [String: MPP.JSONValue]) throws(PaymentProblem) {
        guard payload["type"]?.stringValue == "authorization" else {
            throw PaymentProblem(.invalidPayload, detail: "The evm/charge payload's type must be authorization.")
        }
        func string(_ key: String, hexDigits: Int? = nil) throws(PaymentProblem) -> String {
            guard let text = payload[key]?.stringValue else {
                throw PaymentProblem(.invalidPayload, detail: "The evm/charge payload's \(key) is missing.")
            }
            let bytes = Array(text.utf8)
            let wellFormed: Bool
            if let hexDigits {
                wellFormed =
                    bytes.count == hexDigits + 2 && text.hasPrefix("0x") && bytes.dropFirst(2).allSatisfy { Self.isHexDigit($0) }
            } else {
                wellFormed = (1...78).contains(bytes.count) && bytes.allSatisfy { (48...57).contains($0) }
            }
            guard wellFormed else { throw PaymentProblem(.invalidPayload, detail: "The evm/charge payload's \(key) is malformed.") }
            return text
        }
        func integer(_ key: String) throws(PaymentProblem) -> EVM.UInt256 {
            guard let value = try? EVM.UInt256(decimal: try string(key)) else {
                throw PaymentProblem(.invalidPayload, detail: "The evm/charge payload's \(key) is out of range.")
            }
            return value
        }
        guard let from = try? Address(try string("from", hexDigits: 40)), let to = try? Address(try string("to", hexDigits: 40)),
            let nonce = try? Hash32(hex: try string("nonce", hexDigits: 64))
        else {
            throw PaymentProblem(.invalidPayload, detail: "The evm/charge payload's addresses or nonce are malformed.")
        }
        self.from = from
        self.to = to
        self.nonce = nonce
        self.value = try integer("value")
        self.validAfter = try integer("validAfter")
        self.validBefore = try integer("validBefore")
        self.signature = try string("signature", hexDigits: 130)
    }

    /// The x402 `exact` EVM payload the facilitator settles.
    var exactPayload: Ledger.JSONValue {
        .object([
            "signature": .string(signature.lowercased()),
            "authorization": .object([
                "from": .string(from.checksummed), "to": .string(to.checksummed), "value": .string(value.description),
                "validAfter": .string(validAfter.description), "validBefore": .string(validBefore.description),
                "nonce": .string(nonce.hex),
            ]),
        ])
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
    }
}
