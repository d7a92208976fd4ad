import Foundation

/// The JSON form of a transfer request, shared by the CLI's files and the HTTP API:
///
/// ```json
/// {"id": "pay-1", "type": "post",
///  "postings": [{"direction": "debit", "account": "agent:7", "amount": "1500"},
///               {"direction": "credit", "account": "merchant:acme", "amount": "1500"}],
///  "effective_at": "2026-11-24T10:00:00Z", "metadata": {"route": "/v1/search"},
///  "rail_reference": {"rail": "erc20", "reference": "eip155:8453/0xab…/3"}}
/// ```
/// `type` is `post` (default), `hold` (with optional `timeout` seconds), `post_hold` (`hold`, optional
/// `amount`), `void_hold` (`hold`), `reverse` (`transfer`) or `balancing` (`from`, `to`, optional
/// `up_to`; with `"pending": true` a balancing hold, with optional `timeout`). `post`, `hold` and
/// `balancing` take optional `conditions` (``Condition``). Unknown fields are an error.
extension NewTransfer: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, type, postings, timeout, hold, amount, transfer, parent
        case effectiveAt = "effective_at"
        case metadata
        case railReference = "rail_reference"
        case from, to
        case upTo = "up_to"
        case conditions, pending
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let k = try decoder.container(keyedBy: CodingKeys.self)
        let id = try k.decode(TransferID.self, forKey: .id)
        let type = try k.decodeUnlessAbsent(String.self, forKey: .type) ?? "post"
        func require<T: Decodable>(_ key: CodingKeys, _ t: T.Type) throws -> T {
            guard let v = try k.decodeUnlessAbsent(T.self, forKey: key) else {
                throw DecodingError.keyNotFound(
                    key, .init(codingPath: decoder.codingPath, debugDescription: "\(type) needs \(key.stringValue)"))
            }
            return v
        }
        func forbid(_ keys: CodingKeys...) throws {
            for key in keys where k.contains(key) {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath + [key], debugDescription: "\(type) takes no \(key.stringValue)"))
            }
        }
        let action: Action
        switch type {
        case "post":
            try forbid(.timeout, .hold, .amount, .transfer, .from, .to, .upTo, .pending)
            action = .post(try require(.postings, [Posting].self))
        case "hold":
            try forbid(.hold, .amount, .transfer, .from, .to, .upTo, .pending)
            action = .hold(try require(.postings, [Posting].self), timeout: try k.decodeUnlessAbsent(Int64.self, forKey: .timeout))
        case "post_hold":
            try forbid(.postings, .timeout, .transfer, .parent, .from, .to, .upTo, .conditions, .pending)
            action = .postHold(try require(.hold, TransferID.self), amount: try k.decodeUnlessAbsent(UInt256.self, forKey: .amount))
        case "void_hold":
            try forbid(.postings, .timeout, .transfer, .amount, .parent, .from, .to, .upTo, .conditions, .pending)
            action = .voidHold(try require(.hold, TransferID.self))
        case "reverse":
            try forbid(.postings, .timeout, .hold, .amount, .parent, .from, .to, .upTo, .conditions, .pending)
            action = .reverse(try require(.transfer, TransferID.self))
        case "balancing":
            try forbid(.postings, .hold, .amount, .transfer)
            let from = try require(.from, AccountID.self)
            let to = try require(.to, AccountID.self)
            let upTo = try k.decodeUnlessAbsent(UInt256.self, forKey: .upTo)
            if try k.decodeUnlessAbsent(Bool.self, forKey: .pending) ?? false {
                action = .balancingHold(from: from, to: to, upTo: upTo, timeout: try k.decodeUnlessAbsent(Int64.self, forKey: .timeout))
            } else {
                guard !k.contains(.timeout) else {
                    throw DecodingError.dataCorrupted(
                        .init(
                            codingPath: decoder.codingPath + [CodingKeys.timeout],
                            debugDescription: "balancing takes a timeout only with pending: true"))
                }
                action = .balancing(from: from, to: to, upTo: upTo)
            }
        default:
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath + [CodingKeys.type],
                    debugDescription: "type must be post, hold, post_hold, void_hold, reverse or balancing"))
        }
        self.init(
            id: id, action, parent: try k.decodeUnlessAbsent(TransferID.self, forKey: .parent),
            effectiveAt: try k.decodeUnlessAbsent(Date.self, forKey: .effectiveAt),
            metadata: try k.decodeUnlessAbsent(Metadata.self, forKey: .metadata) ?? [:],
            railReference: try k.decodeUnlessAbsent(RailReference.self, forKey: .railReference),
            conditions: try k.decodeUnlessAbsent([Condition].self, forKey: .conditions) ?? [])
    }

    public func encode(to encoder: any Encoder) throws {
        var k = encoder.container(keyedBy: CodingKeys.self)
        try k.encode(id, forKey: .id)
        switch action {
        case .post(let postings):
            try k.encode("post", forKey: .type)
            try k.encode(postings, forKey: .postings)
        case .hold(let postings, let timeout):
            try k.encode("hold", forKey: .type)
            try k.encode(postings, forKey: .postings)
            try k.encodeIfPresent(timeout, forKey: .timeout)
        case .postHold(let hold, let amount):
            try k.encode("post_hold", forKey: .type)
            try k.encode(hold, forKey: .hold)
            try k.encodeIfPresent(amount, forKey: .amount)
        case .voidHold(let hold):
            try k.encode("void_hold", forKey: .type)
            try k.encode(hold, forKey: .hold)
        case .reverse(let transfer):
            try k.encode("reverse", forKey: .type)
            try k.encode(transfer, forKey: .transfer)
        case .balancing(let from, let to, let upTo):
            try k.encode("balancing", forKey: .type)
            try k.encode(from, forKey: .from)
            try k.encode(to, forKey: .to)
            try k.encodeIfPresent(upTo, forKey: .upTo)
        case .balancingHold(let from, let to, let upTo, let timeout):
            try k.encode("balancing", forKey: .type)
            try k.encode(from, forKey: .from)
            try k.encode(to, forKey: .to)
            try k.encodeIfPresent(upTo, forKey: .upTo)
            try k.encode(true, forKey: .pending)
            try k.encodeIfPresent(timeout, forKey: .timeout)
        }
        try k.encodeIfPresent(parent, forKey: .parent)
        try k.encodeIfPresent(effectiveAt, forKey: .effectiveAt)
        if !metadata.isEmpty { try k.encode(metadata, forKey: .metadata) }
        try k.encodeIfPresent(railReference, forKey: .railReference)
        if !conditions.isEmpty { try k.encode(conditions, forKey: .conditions) }
    }
}

extension Posting {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case direction, account, amount
    }

    /// Strict like ``NewTransfer``: a misspelt field is an error, not an ignored one.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let k = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            try k.decode(Direction.self, forKey: .direction), try k.decode(AccountID.self, forKey: .account),
            try k.decode(UInt256.self, forKey: .amount))
    }
}
