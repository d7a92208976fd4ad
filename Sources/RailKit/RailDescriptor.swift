import Ledger

/// What a rail is: its id, the assets it moves, what it can do, and how its money moves.
///
/// A descriptor is data: `settle rails describe <id>` prints it, and an out-of-process rail sends it
/// in its handshake.
public struct RailDescriptor: Sendable, Hashable, Codable {
    /// What a rail can do besides describing itself.
    public enum Capability: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
        /// ``Rail/fetchNext(cursor:pageSize:)``: paged pulls of events.
        case pull
        /// ``Rail/verifyWebhook(headers:body:)``: the rail pushes signed events.
        case webhooks
        /// ``Rail/statement(from:to:cursor:pageSize:)``: the rail's own records for reconciliation.
        case statements

        public static func < (a: Capability, b: Capability) -> Bool { a.rawValue < b.rawValue }
    }

    /// The rail's id: `[a-z0-9][a-z0-9._-]{0,31}`; it prefixes the ids of the transfers it books
    /// and names it in rail references.
    public var id: String
    /// The kind of rail (`card`, `erc20`, `process`, …): the registry's factory that made it.
    public var kind: String
    /// A line for people.
    public var summary: String
    /// The ledger assets the rail moves; created when the rail is registered.
    public var assets: [Asset]
    public var capabilities: Set<Capability>
    public var fundFlow: FundFlow

    enum CodingKeys: String, CodingKey {
        case id, kind, summary, assets, capabilities
        case fundFlow = "fund_flow"
    }

    public init(id: String, kind: String, summary: String, assets: [Asset], capabilities: Set<Capability>, fundFlow: FundFlow) {
        self.id = id
        self.kind = kind
        self.summary = summary
        self.assets = assets
        self.capabilities = capabilities
        self.fundFlow = fundFlow
    }

    /// Checks the id and the fund flow.
    public func validate() throws(RailError) {
        guard Self.isValidID(id) else {
            throw RailError(.invalidConfiguration, "rail id must match [a-z0-9][a-z0-9._-]{0,31}, got \(id.debugDescription)")
        }
        try fundFlow.validate()
    }

    static func isValidID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...32).contains(bytes.count), bytes[0].isLowerAlphanumeric else { return false }
        return bytes.allSatisfy { $0.isLowerAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }
}

extension UInt8 {
    fileprivate var isLowerAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
