import Foundation

/// A decoded `application/x-www-form-urlencoded` value, in Stripe's v1 bracket encoding.
///
/// `a[b]=1` nests maps, `a[0]=x` and `a[]=x` build arrays, `metadata[0]=x` stays a map (metadata keys
/// are free text, so all-numeric keys there must not turn it into an array).
public enum FormValue: Sendable, Hashable {
    case string(String)
    case map([String: FormValue])
    case list([FormValue])

    /// Decodes a whole body or query string.
    /// - Throws: ``StripeError`` when a key's brackets do not balance.
    public static func decode(_ text: String) throws(StripeError) -> [String: FormValue] {
        var root = Node()
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = unescape(parts[0])
            let value = parts.count > 1 ? unescape(parts[1]) : ""
            guard !key.isEmpty else { continue }
            let path = try components(of: key)
            root.insert(path[...], value: value)
        }
        guard case .map(let map) = root.value(underMetadata: false) else { return [:] }
        return map
    }

    /// `a[b][0]` → `["a", "b", "0"]`; `a[]` → `["a", ""]`.
    static func components(of key: String) throws(StripeError) -> [String] {
        guard let open = key.firstIndex(of: "[") else { return [key] }
        var result = [String(key[..<open])]
        var rest = key[open...]
        while !rest.isEmpty {
            guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                throw StripeError.invalidRequest("Invalid parameter name: \(key)", param: key)
            }
            result.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return result
    }

    static func unescape(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// The canonical text of a value: identical parameters give identical text whatever their
    /// order on the wire, which is what idempotency compares.
    var canonical: String {
        switch self {
        case .string(let value): return "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .list(let items): return "[" + items.map(\.canonical).joined(separator: ",") + "]"
        case .map(let map):
            return "{" + map.keys.sorted().map { "\"\($0)\":" + map[$0]!.canonical }.joined(separator: ",") + "}"
        }
    }
}

/// The tree while it is built: ordered children so that `a[]` appends keep their order.
private struct Node {
    var scalar: String?
    var keys: [String] = []
    var children: [String: Node] = [:]
    var appended = 0

    mutating func insert(_ path: ArraySlice<String>, value: String) {
        guard let head = path.first else {
            scalar = value
            return
        }
        var key = head
        if head.isEmpty {
            // `a[]`: a new element each time; named so it sorts after explicit indices.
            key = "\u{1}\(String(appended).leftPadded(10))"
            appended += 1
        }
        if children[key] == nil { keys.append(key) }
        children[key, default: Node()].insert(path.dropFirst(), value: value)
    }

    func value(underMetadata: Bool) -> FormValue {
        if keys.isEmpty { return .string(scalar ?? "") }
        let isList = !underMetadata && keys.allSatisfy { $0.hasPrefix("\u{1}") || (Int($0).map { $0 >= 0 } ?? false) }
        if isList {
            let ordered = keys.sorted { lhs, rhs in
                switch (Int(lhs), Int(rhs)) {
                case let (l?, r?): return l < r
                case (_?, nil): return true
                case (nil, _?): return false
                default: return lhs < rhs
                }
            }
            return .list(ordered.map { children[$0]!.value(underMetadata: false) })
        }
        var map: [String: FormValue] = [:]
        for key in keys { map[key] = children[key]!.value(underMetadata: key == "metadata") }
        return .map(map)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
