import Ledger

/// An asset as the API reads and writes it.
struct AssetWire: Codable, Sendable {
    var asset: Asset

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, code, scale, rail, network, token, metadata
    }

    init(_ asset: Asset) { self.asset = asset }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        asset = Asset(
            id: try c.decode(AssetID.self, forKey: .id), code: try c.decode(String.self, forKey: .code),
            scale: try c.decode(Int.self, forKey: .scale), rail: try c.decodeUnlessAbsent(String.self, forKey: .rail),
            network: try c.decodeUnlessAbsent(String.self, forKey: .network), token: try c.decodeUnlessAbsent(String.self, forKey: .token),
            metadata: try c.decodeUnlessAbsent(Metadata.self, forKey: .metadata) ?? [:])
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(asset.id, forKey: .id)
        try c.encode(asset.code, forKey: .code)
        try c.encode(asset.scale, forKey: .scale)
        try c.encodeIfPresent(asset.rail, forKey: .rail)
        try c.encodeIfPresent(asset.network, forKey: .network)
        try c.encodeIfPresent(asset.token, forKey: .token)
        try c.encode(asset.metadata, forKey: .metadata)
    }
}

struct ItemsWire<Item: Encodable & Sendable>: Encodable, Sendable {
    var items: [Item]
}
