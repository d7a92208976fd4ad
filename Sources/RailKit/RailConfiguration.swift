import Foundation
import Ledger

/// One enabled rail, as the rails file lists it:
///
/// ```json
/// {"rails": [
///   {"id": "card", "kind": "card", "settings": {"base_url": "http://127.0.0.1:12111", "api_key": "sk_test_…"}},
///   {"id": "bank", "kind": "process", "settings": {"command": ["python3", "Plugins/BankFileRail/bank_file_rail.py"]}}
/// ]}
/// ```
public struct RailConfiguration: Sendable, Hashable, Codable {
    public var id: String
    public var kind: String
    /// The rail's own settings; each factory documents and checks its keys.
    public var settings: Metadata
    /// How the rail is reconciled, over its kind's standard profile (tolerances, SLAs, accounts);
    /// read and checked by the reconciler, not by the rail.
    public var reconciliation: Metadata?

    public init(id: String, kind: String, settings: Metadata = [:], reconciliation: Metadata? = nil) {
        self.id = id
        self.kind = kind
        self.settings = settings
        self.reconciliation = reconciliation
    }

    /// Reads a rails file.
    public static func load(path: String) throws(RailError) -> [RailConfiguration] {
        struct File: Decodable { var rails: [RailConfiguration] }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw RailError(.invalidConfiguration, "cannot read rails file \(path): \(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(File.self, from: data).rails
        } catch {
            throw RailError(.invalidConfiguration, "rails file \(path) is not valid: \(error)")
        }
    }

    /// A required string setting.
    public func string(_ key: String) throws(RailError) -> String {
        guard case .string(let value)? = settings[key], !value.isEmpty else {
            throw RailError(.invalidConfiguration, "rail \(id): setting \(key) must be a non-empty string")
        }
        return value
    }

    /// An optional string setting.
    public func optionalString(_ key: String) throws(RailError) -> String? {
        switch settings[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw RailError(.invalidConfiguration, "rail \(id): setting \(key) must be a string")
        }
    }

    /// An optional integer setting within `range`.
    public func int(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws(RailError) -> Int {
        switch settings[key] {
        case nil, .null?: return fallback
        case .number(let text)?:
            guard let value = Int(text), range.contains(value) else {
                throw RailError(.invalidConfiguration, "rail \(id): setting \(key) must be an integer in \(range), got \(text)")
            }
            return value
        default: throw RailError(.invalidConfiguration, "rail \(id): setting \(key) must be an integer")
        }
    }

    /// An optional list of strings.
    public func strings(_ key: String) throws(RailError) -> [String]? {
        switch settings[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            var result: [String] = []
            for item in items {
                guard case .string(let text) = item else {
                    throw RailError(.invalidConfiguration, "rail \(id): setting \(key) must be a list of strings")
                }
                result.append(text)
            }
            return result
        default: throw RailError(.invalidConfiguration, "rail \(id): setting \(key) must be a list of strings")
        }
    }
}
