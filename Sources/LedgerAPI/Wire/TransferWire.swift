import Foundation
import Ledger
import NIOCore
import Timestamps

/// `GET /v1/transfers/{id}`.
struct TransferWire: Encodable, Sendable {
    var transfer: Transfer

    enum CodingKeys: String, CodingKey {
        case id, sequence, kind, parent, lines, metadata
        case effectiveAt = "effective_at"
        case recordedAt = "recorded_at"
        case expiresAt = "expires_at"
        case railReference = "rail_reference"
        case holdState = "hold_state"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(transfer.id, forKey: .id)
        try c.encode(transfer.sequence, forKey: .sequence)
        try c.encode(transfer.kind.name, forKey: .kind)
        try c.encode(transfer.parent, forKey: .parent)
        try c.encode(transfer.lines, forKey: .lines)
        try c.encode(transfer.effectiveAt, forKey: .effectiveAt)
        try c.encode(transfer.recordedAt, forKey: .recordedAt)
        try c.encode(transfer.expiresAt, forKey: .expiresAt)
        try c.encode(transfer.metadata, forKey: .metadata)
        try c.encode(transfer.railReference, forKey: .railReference)
        try c.encode(transfer.holdState, forKey: .holdState)
    }
}

/// The outcome of one transfer: `POST /v1/transfers` (created/exists) and each item of a batch.
struct TransferResultWire: Encodable, Sendable {
    var id: TransferID
    var result: TransferResult

    enum CodingKeys: String, CodingKey {
        case id, status, sequence, code, message, amount
        case recordedAt = "recorded_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(result.status, forKey: .status)
        switch result {
        case .created(let receipt), .exists(let receipt):
            try c.encode(receipt.sequence, forKey: .sequence)
            try c.encode(receipt.recordedAt, forKey: .recordedAt)
            try c.encodeIfPresent(receipt.amount, forKey: .amount)
        case .rejected(let error):
            try c.encode(error.code.rawValue, forKey: .code)
            try c.encode(error.message, forKey: .message)
        }
    }

    /// For a created or existing transfer, the same document as ``encode(to:)`` with
    /// ``APIJSON/encoder()``, written directly (every acknowledged post answers with it); nil for a
    /// rejection, whose message may need escaping. Ids need none (they match `[A-Za-z0-9._:/@+-]`).
    var json: ByteBuffer? {
        switch result {
        case .created(let receipt), .exists(let receipt):
            let amount = receipt.amount.map { #""amount":""# + $0.decimalString + #"","# } ?? ""
            let text =
                #"{"# + amount + #""id":""# + id.rawValue + #"","recorded_at":""# + RFC3339.string(from: receipt.recordedAt)
                + #"","sequence":"# + String(receipt.sequence) + #","status":""# + result.status + #""}"#
            return ByteBuffer(string: text)
        case .rejected:
            return nil
        }
    }
}

/// `POST /v1/transfers/batch`.
struct BatchRequestWire: Decodable, Sendable {
    var transfers: [NewTransfer]
    var atomic: Bool

    enum CodingKeys: String, CodingKey, CaseIterable {
        case transfers, atomic
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        transfers = try c.decode([NewTransfer].self, forKey: .transfers)
        // Present means a boolean: `null` is refused like any other non-boolean.
        atomic = c.contains(.atomic) ? try c.decode(Bool.self, forKey: .atomic) : false
    }
}

struct BatchResponseWire: Encodable, Sendable {
    var results: [TransferResultWire]
}

/// The optional body of `POST /v1/transfers/{id}/post|void|reverse`.
struct ResolveRequestWire: Decodable, Sendable {
    var id: TransferID?
    var amount: UInt256?
    var effectiveAt: Date?
    var metadata: Metadata

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, amount, metadata
        case effectiveAt = "effective_at"
    }
    private enum ResolveKeys: String, CodingKey, CaseIterable {
        case id, metadata
        case effectiveAt = "effective_at"
    }

    init() {
        metadata = [:]
    }

    init(from decoder: any Decoder) throws {
        // Only posting a hold takes an amount; the route tells which body this is.
        let takesAmount = decoder.userInfo[.takesAmount] as? Bool ?? false
        if takesAmount { try decoder.rejectUnknownKeys(CodingKeys.self) } else { try decoder.rejectUnknownKeys(ResolveKeys.self) }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeUnlessAbsent(TransferID.self, forKey: .id)
        amount = try c.decodeUnlessAbsent(UInt256.self, forKey: .amount)
        effectiveAt = try c.decodeUnlessAbsent(Date.self, forKey: .effectiveAt)
        metadata = try c.decodeUnlessAbsent(Metadata.self, forKey: .metadata) ?? [:]
    }
}

extension CodingUserInfoKey {
    static let takesAmount = CodingUserInfoKey(rawValue: "settle.takesAmount")!
}
