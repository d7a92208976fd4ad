import Foundation
import Ledger
import NIOCore
import Timestamps

/// An account as the API reads (`POST /v1/accounts`) and writes it.
struct AccountWire: Codable, Sendable {
    var account: Account

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, asset, code, limit, metadata, closed
        case normalSide = "normal_side"
        case externalID = "external_id"
        case createdAt = "created_at"
    }
    /// What a client may send; `closed` and `created_at` are the ledger's.
    private enum RequestKeys: String, CodingKey, CaseIterable {
        case id, asset, code, limit, metadata
        case normalSide = "normal_side"
        case externalID = "external_id"
    }

    init(_ account: Account) { self.account = account }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(RequestKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        account = Account(
            id: try c.decode(AccountID.self, forKey: .id), asset: try c.decode(AssetID.self, forKey: .asset),
            code: try c.decodeUnlessAbsent(String.self, forKey: .code) ?? "",
            normalSide: try c.decode(Account.Side.self, forKey: .normalSide),
            limit: try c.decodeUnlessAbsent(Account.Limit.self, forKey: .limit) ?? .none,
            externalID: try c.decodeUnlessAbsent(String.self, forKey: .externalID),
            metadata: try c.decodeUnlessAbsent(Metadata.self, forKey: .metadata) ?? [:])
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(account.id, forKey: .id)
        try c.encode(account.asset, forKey: .asset)
        try c.encode(account.code, forKey: .code)
        try c.encode(account.normalSide, forKey: .normalSide)
        try c.encode(account.limit, forKey: .limit)
        try c.encode(account.externalID, forKey: .externalID)
        try c.encode(account.metadata, forKey: .metadata)
        try c.encode(account.closed, forKey: .closed)
        try c.encodeIfPresent(account.createdAt, forKey: .createdAt)
    }
}

/// `GET /v1/accounts/{id}/balance`.
struct BalanceWire: Encodable, Sendable {
    var balance: Balance

    enum CodingKeys: String, CodingKey {
        case account, posted, available, version
        case normalSide = "normal_side"
        case debitsPosted = "debits_posted"
        case creditsPosted = "credits_posted"
        case debitsPending = "debits_pending"
        case creditsPending = "credits_pending"
        case asOf = "as_of"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(balance.account, forKey: .account)
        try c.encode(balance.normalSide, forKey: .normalSide)
        try c.encode(balance.debitsPosted, forKey: .debitsPosted)
        try c.encode(balance.creditsPosted, forKey: .creditsPosted)
        try c.encode(balance.debitsPending, forKey: .debitsPending)
        try c.encode(balance.creditsPending, forKey: .creditsPending)
        try c.encode(balance.posted, forKey: .posted)
        try c.encode(balance.available, forKey: .available)
        try c.encode(balance.version, forKey: .version)
        try c.encodeIfPresent(balance.asOf, forKey: .asOf)
    }

    /// The same document as ``encode(to:)`` with ``APIJSON/encoder()`` (sorted keys), written
    /// directly: the balance read is the API's hottest route, and a `JSONEncoder` was a twentieth
    /// of its CPU. Ids, amounts and the side need no escaping (ids match `[A-Za-z0-9._:/@+-]`).
    var json: ByteBuffer {
        let b = balance
        var text = #"{"account":""# + b.account.rawValue + #"""#
        if let asOf = b.asOf { text += #","as_of":""# + RFC3339.string(from: asOf) + #"""# }
        text += #","available":""# + b.available.description
        text += #"","credits_pending":""# + b.creditsPending.decimalString
        text += #"","credits_posted":""# + b.creditsPosted.decimalString
        text += #"","debits_pending":""# + b.debitsPending.decimalString
        text += #"","debits_posted":""# + b.debitsPosted.decimalString
        text += #"","normal_side":""# + b.normalSide.rawValue
        text += #"","posted":""# + b.posted.description
        text += #"","version":"# + String(b.version) + "}"
        return ByteBuffer(string: text)
    }
}

/// One line of `GET /v1/accounts/{id}/entries`.
struct EntryWire: Encodable, Sendable {
    var entry: Entry

    enum CodingKeys: String, CodingKey {
        case account, version, transfer, direction, pending, amount
        case transferKind = "transfer_kind"
        case effectiveAt = "effective_at"
        case recordedAt = "recorded_at"
        case debitsPosted = "debits_posted"
        case creditsPosted = "credits_posted"
        case debitsPending = "debits_pending"
        case creditsPending = "credits_pending"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(entry.account, forKey: .account)
        try c.encode(entry.version, forKey: .version)
        try c.encode(entry.transfer, forKey: .transfer)
        try c.encode(entry.transferKind.name, forKey: .transferKind)
        try c.encode(entry.effectiveAt, forKey: .effectiveAt)
        try c.encode(entry.recordedAt, forKey: .recordedAt)
        try c.encode(entry.direction, forKey: .direction)
        try c.encode(entry.pending, forKey: .pending)
        try c.encode(entry.amount, forKey: .amount)
        try c.encode(entry.debitsPosted, forKey: .debitsPosted)
        try c.encode(entry.creditsPosted, forKey: .creditsPosted)
        try c.encode(entry.debitsPending, forKey: .debitsPending)
        try c.encode(entry.creditsPending, forKey: .creditsPending)
    }
}

struct EntryPageWire: Encodable, Sendable {
    var items: [EntryWire]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}
