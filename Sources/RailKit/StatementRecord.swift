import Foundation
import Ledger

/// One of the rail's own records of money movement, for reconciliation: a balance transaction, a
/// chain log, a line of a bank statement.
public struct StatementRecord: Sendable, Hashable, Codable {
    /// Which way the money moved for the merchant.
    public enum Direction: String, Sendable, Hashable, Codable {
        case inbound
        case outbound
    }

    /// The rail's natural key; the same as the ``RailEvent/reference`` of the events it books.
    public var reference: String
    /// The rail's type of record (`charge`, `refund`, `payout`, `transfer`, …).
    public var type: String
    public var direction: Direction
    public var asset: AssetID
    /// Gross amount, in base units.
    public var amount: UInt256
    /// What the rail kept, in base units (0 when it keeps nothing).
    public var fee: UInt256
    /// The rail's status of the record (`pending`, `available`, `confirmed`, …).
    public var status: String
    public var occurredAt: Date
    /// Other keys the rail gives (a payout id, a block hash), for explaining differences.
    public var details: [String: String]

    public init(
        reference: String, type: String, direction: Direction, asset: AssetID, amount: UInt256, fee: UInt256 = 0, status: String,
        occurredAt: Date, details: [String: String] = [:]
    ) {
        self.reference = reference
        self.type = type
        self.direction = direction
        self.asset = asset
        self.amount = amount
        self.fee = fee
        self.status = status
        self.occurredAt = occurredAt
        self.details = details
    }

    enum CodingKeys: String, CodingKey {
        case reference, type, direction, asset, amount, fee, status, details
        case occurredAt = "occurred_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        reference = try c.decode(String.self, forKey: .reference)
        type = try c.decode(String.self, forKey: .type)
        direction = try c.decode(Direction.self, forKey: .direction)
        asset = try c.decode(AssetID.self, forKey: .asset)
        amount = try c.decode(UInt256.self, forKey: .amount)
        fee = try c.decodeIfPresent(UInt256.self, forKey: .fee) ?? 0
        status = try c.decode(String.self, forKey: .status)
        occurredAt = try c.decode(Date.self, forKey: .occurredAt)
        details = try c.decodeIfPresent([String: String].self, forKey: .details) ?? [:]
    }
}

/// A page of statement records from ``Rail/statement(from:to:cursor:pageSize:)``.
public struct StatementPage: Sendable, Hashable, Codable {
    public var records: [StatementRecord]
    public var nextCursor: String?
    public var hasMore: Bool

    public init(records: [StatementRecord], nextCursor: String?, hasMore: Bool) {
        self.records = records
        self.nextCursor = nextCursor
        self.hasMore = hasMore
    }

    enum CodingKeys: String, CodingKey {
        case records
        case nextCursor = "next_cursor"
        case hasMore = "has_more"
    }
}
