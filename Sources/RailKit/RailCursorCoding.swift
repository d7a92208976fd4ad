import Foundation

/// A rail's own cursor kept as JSON (sorted keys, so equal cursors are equal strings): what the
/// chain rails store between pages.
public protocol JSONRailCursor: Codable {
    /// Names the cursor in errors (`ERC-20`, `Tempo`).
    static var railName: String { get }
}

extension JSONRailCursor {
    /// Decodes a stored cursor; nil for none.
    ///
    /// - Throws: ``RailError/Code/invalidConfiguration`` for text this rail did not write.
    public init?(decoding text: String?) throws(RailError) {
        guard let text else { return nil }
        do {
            self = try JSONDecoder().decode(Self.self, from: Data(text.utf8))
        } catch {
            throw RailError(.invalidConfiguration, "the stored \(Self.railName) cursor is not one this rail wrote: \(error)")
        }
    }

    /// The cursor's JSON.
    public func encoded() throws(RailError) -> String {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            throw RailError(.invalidEvent, "cursor: \(error)")
        }
    }
}

extension RailConfiguration {
    /// A CAIP-2 `eip155:<chain id>` network setting.
    public func eip155Network(_ key: String = "network") throws(RailError) -> String {
        let network = try string(key)
        guard network.hasPrefix("eip155:"), UInt64(network.dropFirst(7)) != nil else {
            throw RailError(.invalidConfiguration, "rail \(id): \(key) must be eip155:<chain id>")
        }
        return network
    }

    /// An `http(s)` URL setting.
    public func httpURL(_ key: String) throws(RailError) -> String {
        let url = try string(key)
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw RailError(.invalidConfiguration, "rail \(id): \(key) must be an http(s) URL")
        }
        return url
    }

    /// A list setting whose every entry `parse` turns into a value (nil: refused).
    public func list<T: Hashable>(_ key: String, _ parse: (String) -> T?) throws(RailError) -> Set<T> {
        var result = Set<T>()
        for text in try strings(key) ?? [] {
            guard let value = parse(text) else { throw RailError(.invalidConfiguration, "rail \(id): \(key): \(text) is not valid") }
            result.insert(value)
        }
        return result
    }
}
