/// Something that can be counted in an integer number of base units.
///
/// Two assets are different when their rail identity differs, even with the same code:
/// `USDC` on `eip155:8453` and `USDC` on a Tempo chain are two assets, and accounts only
/// transact within one asset.
public struct Asset: Sendable, Hashable, Codable {
    /// The client's id of the asset, e.g. `usdc-base`.
    public var id: AssetID
    /// Display code, e.g. `USDC`.
    public var code: String
    /// Number of decimals between a base unit and a display unit (6 for USDC, 18 for ETH).
    public var scale: Int
    /// The rail that moves it, e.g. `erc20`, `tempo`, `card`.
    public var rail: String?
    /// CAIP-2 network id, e.g. `eip155:8453`.
    public var network: String?
    /// The token's identity on the network (an ERC-20 contract address), if it has one.
    public var token: String?
    public var metadata: Metadata

    public init(
        id: AssetID, code: String, scale: Int, rail: String? = nil, network: String? = nil, token: String? = nil,
        metadata: Metadata = [:]
    ) {
        self.id = id
        self.code = code
        self.scale = scale
        self.rail = rail
        self.network = network
        self.token = token
        self.metadata = metadata
    }

    /// Checks the fields the database would refuse, so the error is typed and precise.
    func validate() throws(LedgerError) {
        func fail(_ why: String) -> LedgerError { LedgerError(.invalidAsset, "asset \(id): \(why)") }
        guard StoredText.isStorable(metadata) else {
            throw LedgerError(.invalidMetadata, "asset \(id): metadata must not contain NUL characters")
        }
        if let token, !StoredText.isStorable(token) { throw fail("token must not contain NUL characters") }
        guard (1...16).contains(code.utf8.count),
            code.utf8.allSatisfy({ $0.isASCIIAlphanumeric || "._$-".utf8.contains($0) })
        else { throw fail("code must be 1-16 characters of [A-Za-z0-9._$-]") }
        guard (0...77).contains(scale) else { throw fail("scale must be between 0 and 77") }
        if let rail, !Self.matches(rail, first: "a-z0-9", rest: "a-z0-9_-", max: 32) {
            throw fail("rail must be 1-32 characters of [a-z0-9_-]")
        }
        if let network {
            let parts = network.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, (3...8).contains(parts[0].count), (1...32).contains(parts[1].count),
                // A CAIP-2 namespace is lowercase, as the table's check says: an uppercase one got
                // past here and failed in PostgreSQL as a 503.
                parts[0].utf8.allSatisfy({
                    $0.isASCIIAlphanumeric && !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || $0 == UInt8(ascii: "-")
                }),
                parts[1].utf8.allSatisfy({ $0.isASCIIAlphanumeric || "-_".utf8.contains($0) })
            else { throw fail("network must be a CAIP-2 chain id such as eip155:8453") }
        }
        if let token {
            guard network != nil else { throw fail("a token needs a network") }
            // Characters (Unicode scalars), as the table's length() check and the OpenAPI document count them.
            guard (1...128).contains(token.unicodeScalars.count) else { throw fail("token must be 1-128 characters") }
        }
    }

    private static func matches(_ s: String, first: String, rest: String, max: Int) -> Bool {
        guard (1...max).contains(s.utf8.count) else { return false }
        return s.utf8.allSatisfy {
            $0.isASCIIAlphanumeric && !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || "_-".utf8.contains($0)
        }
            && s.utf8.first.map { $0.isASCIIAlphanumeric } == true
    }
}
