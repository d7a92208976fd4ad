import Foundation
import Ledger

/// One transition of one payment on a rail, in the rail's own words turned into the ledger's:
/// what ``FundFlow`` renders into a transfer.
///
/// `(transition, reference)` is the event's natural key: booking the same event twice writes
/// nothing the second time (the transfer id and rail reference derive from it).
public struct RailEvent: Sendable, Hashable, Codable {
    /// The fund-flow transition, e.g. `captured`, `refunded`, `paid_out`.
    public var transition: String
    /// The rail's natural key of the money movement (a balance transaction id, `chain:tx:log`).
    public var reference: String
    /// The payment this movement belongs to, when it has one (a refund's charge).
    public var parentReference: String?
    /// The ledger asset moved.
    public var asset: AssetID
    /// Named amounts in the asset's base units, e.g. `amount`, `fee`, `net`.
    public var amounts: [String: UInt256]
    /// Values of the fund flow's account placeholders other than `{asset}`, e.g. `wallet`.
    public var bindings: [String: String]
    /// When the money moved on the rail: the transfer's effective time.
    public var occurredAt: Date
    public var metadata: Metadata

    public init(
        transition: String, reference: String, parentReference: String? = nil, asset: AssetID, amounts: [String: UInt256],
        bindings: [String: String] = [:], occurredAt: Date, metadata: Metadata = [:]
    ) {
        self.transition = transition
        self.reference = reference
        self.parentReference = parentReference
        self.asset = asset
        self.amounts = amounts
        self.bindings = bindings
        self.occurredAt = occurredAt
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey {
        case transition, reference, asset, amounts, bindings, metadata
        case parentReference = "parent_reference"
        case occurredAt = "occurred_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        transition = try c.decode(String.self, forKey: .transition)
        reference = try c.decode(String.self, forKey: .reference)
        parentReference = try c.decodeIfPresent(String.self, forKey: .parentReference)
        asset = try c.decode(AssetID.self, forKey: .asset)
        amounts = try c.decode([String: UInt256].self, forKey: .amounts)
        bindings = try c.decodeIfPresent([String: String].self, forKey: .bindings) ?? [:]
        occurredAt = try c.decode(Date.self, forKey: .occurredAt)
        metadata = try c.decodeIfPresent(Metadata.self, forKey: .metadata) ?? [:]
    }
}

/// A page of a rail's events from ``Rail/fetchNext(cursor:pageSize:)``.
public struct RailPage: Sendable, Hashable, Codable {
    public var events: [RailEvent]
    /// Where the next pull starts; stored only once every event of this page is booked.
    public var nextCursor: String?
    public var hasMore: Bool

    public init(events: [RailEvent], nextCursor: String?, hasMore: Bool) {
        self.events = events
        self.nextCursor = nextCursor
        self.hasMore = hasMore
    }

    enum CodingKeys: String, CodingKey {
        case events
        case nextCursor = "next_cursor"
        case hasMore = "has_more"
    }
}

/// A verified webhook: the rail's id for it (de-duplicated in the inbox) and what it books.
public struct RailDelivery: Sendable, Hashable, Codable {
    public var id: String
    public var events: [RailEvent]

    public init(id: String, events: [RailEvent]) {
        self.id = id
        self.events = events
    }
}
