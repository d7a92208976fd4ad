import EVM
import MPP

/// A `tempo/session` credential's payload (mpp-tempo §2.2): `action` and its flat fields.
struct SessionPayload: Sendable {
    enum Action: String, Sendable {
        case open, voucher, topUp, close
    }

    var action: Action
    var channelID: Hash32
    /// v2: the channel's descriptor.
    var descriptor: TempoChannelDescriptor?
    var cumulativeAmount: UInt256?
    var signature: [UInt8]?
    /// open and topUp: the client's signed `0x76` transaction.
    var transaction: String?

    /// - Throws: ``PaymentProblem/Code/invalidPayload`` for an unknown action or a malformed field.
    init(_ payload: [String: JSONValue]) throws(PaymentProblem) {
        func invalid(_ detail: String) -> PaymentProblem { PaymentProblem(.invalidPayload, detail: detail) }
        guard let name = payload["action"]?.stringValue else { throw invalid("The session payload has no action.") }
        guard let action = Action(rawValue: name) else { throw invalid("Unknown session action \"\(name.prefix(40))\".") }
        self.action = action
        guard let id = payload["channelId"]?.stringValue, id.count == 66, let channel = try? Hash32(hex: id) else {
            throw invalid("channelId must be a 32-byte hex string.")
        }
        channelID = channel
        if let amount = payload["cumulativeAmount"] {
            guard let text = amount.stringValue, !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
                let value = try? UInt256(decimal: text)
            else { throw invalid("cumulativeAmount must be a decimal string of base units.") }
            cumulativeAmount = value
        }
        if let signature = payload["signature"] {
            guard let hex = signature.stringValue, let bytes = try? Hex.decode(hex), bytes.count == 64 || bytes.count == 65 else {
                throw invalid("signature must be 64 or 65 bytes of hex.")
            }
            self.signature = bytes
        }
        if let transaction = payload["transaction"] {
            guard let hex = transaction.stringValue else { throw invalid("transaction must be a hex string.") }
            self.transaction = hex
        }
        if let descriptor = payload["descriptor"] {
            self.descriptor = try Self.descriptor(descriptor)
        }
        switch action {
        case .voucher, .close:
            guard cumulativeAmount != nil, signature != nil else { throw invalid("A \(name) needs cumulativeAmount and signature.") }
        case .open, .topUp:
            guard self.transaction != nil else { throw invalid("An \(name) needs the signed transaction.") }
        }
    }

    static func descriptor(_ value: JSONValue) throws(PaymentProblem) -> TempoChannelDescriptor {
        guard let fields = value.objectValue else { throw PaymentProblem(.invalidPayload, detail: "descriptor must be an object.") }
        func address(_ name: String) throws(PaymentProblem) -> Address {
            guard let text = fields[name]?.stringValue, let address = try? Address(text) else {
                throw PaymentProblem(.invalidPayload, detail: "descriptor.\(name) must be an address.")
            }
            return address
        }
        func word(_ name: String) throws(PaymentProblem) -> Hash32 {
            guard let text = fields[name]?.stringValue, text.count == 66, let word = try? Hash32(hex: text) else {
                throw PaymentProblem(.invalidPayload, detail: "descriptor.\(name) must be 32 bytes of hex.")
            }
            return word
        }
        return TempoChannelDescriptor(
            payer: try address("payer"), payee: try address("payee"), operator: try address("operator"), token: try address("token"),
            salt: try word("salt"), authorizedSigner: try address("authorizedSigner"), expiringNonceHash: try word("expiringNonceHash"))
    }

    /// The descriptor as the payload and the snapshot carry it.
    static func json(_ d: TempoChannelDescriptor) -> JSONValue {
        .object([
            "payer": .string(d.payer.lowercased), "payee": .string(d.payee.lowercased), "operator": .string(d.operator.lowercased),
            "token": .string(d.token.lowercased), "salt": .string(d.salt.hex), "authorizedSigner": .string(d.authorizedSigner.lowercased),
            "expiringNonceHash": .string(d.expiringNonceHash.hex),
        ])
    }
}
