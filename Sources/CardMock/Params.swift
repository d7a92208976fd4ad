/// The parameters of one request, read by name; whatever the handler did not read is unknown.
///
/// Handlers read what they support and then call ``finish()``, which answers the first unread
/// parameter with `parameter_unknown`, except the ones stripe-python and other clients commonly
/// send (localstripe's strictness there is its most visible failure).
struct Params {
    private(set) var values: [String: FormValue]
    private var read: Set<String> = []

    /// Accepted everywhere and ignored where they mean nothing.
    static let lenient: Set<String> = [
        "expand", "metadata", "description", "automatic_payment_methods", "return_url", "reason",
    ]

    init(_ values: [String: FormValue]) { self.values = values }

    func finish() throws(StripeError) {
        for key in values.keys.sorted() where !read.contains(key) && !Self.lenient.contains(key) {
            throw StripeError.unknownParameter(key)
        }
    }

    /// Whether the parameter was sent at all (an empty string counts).
    func has(_ name: String) -> Bool { values[name] != nil }

    mutating func string(_ name: String) throws(StripeError) -> String? {
        read.insert(name)
        switch values[name] {
        case nil: return nil
        case .string(let value): return value
        default: throw StripeError.invalidRequest("Invalid string: \(name)", code: "parameter_invalid_string", param: name)
        }
    }

    /// A string that must be there and not empty.
    mutating func required(_ name: String) throws(StripeError) -> String {
        guard let value = try string(name), !value.isEmpty else { throw StripeError.missingParameter(name) }
        return value
    }

    /// An empty string reads as absent (Stripe's "unset").
    mutating func nonEmpty(_ name: String) throws(StripeError) -> String? {
        guard let value = try string(name), !value.isEmpty else { return nil }
        return value
    }

    mutating func int(_ name: String) throws(StripeError) -> Int64? {
        guard let text = try nonEmpty(name) else { return nil }
        guard let value = Int64(text) else { throw StripeError.invalidInteger(name) }
        return value
    }

    mutating func bool(_ name: String) throws(StripeError) -> Bool? {
        guard let text = try nonEmpty(name) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw StripeError.invalidRequest("Invalid boolean: \(text)", code: "parameter_invalid_boolean", param: name)
        }
    }

    mutating func oneOf(_ name: String, _ allowed: [String]) throws(StripeError) -> String? {
        guard let value = try nonEmpty(name) else { return nil }
        guard allowed.contains(value) else {
            throw StripeError.invalidRequest(
                "Invalid \(name): must be one of \(allowed.joined(separator: ", "))", code: "parameter_invalid", param: name)
        }
        return value
    }

    mutating func map(_ name: String) throws(StripeError) -> [String: FormValue]? {
        read.insert(name)
        switch values[name] {
        case nil: return nil
        case .map(let map): return map
        case .string(""): return [:]
        default: throw StripeError.invalidRequest("Invalid object: \(name)", param: name)
        }
    }

    /// `a[0]=x&a[1]=y`, `a[]=x` or a single `a=x`.
    mutating func strings(_ name: String) throws(StripeError) -> [String]? {
        read.insert(name)
        switch values[name] {
        case nil: return nil
        case .string(""): return []
        case .string(let value): return [value]
        case .list(let items):
            var result: [String] = []
            for item in items {
                guard case .string(let value) = item else { throw StripeError.invalidRequest("Invalid array: \(name)", param: name) }
                result.append(value)
            }
            return result
        case .map: throw StripeError.invalidRequest("Invalid array: \(name)", param: name)
        }
    }

    /// `metadata[k]=v` merged into `current`; `metadata[k]=` deletes `k`, `metadata=` clears all.
    mutating func metadata(merging current: [String: String] = [:]) throws(StripeError) -> [String: String] {
        read.insert("metadata")
        switch values["metadata"] {
        case nil: return current
        case .string(""): return [:]
        case .map(let map):
            var result = current
            for (key, value) in map {
                guard case .string(let text) = value else {
                    throw StripeError.invalidRequest("Invalid metadata value for \(key)", param: "metadata[\(key)]")
                }
                result[key] = text.isEmpty ? nil : text
            }
            return result
        default: throw StripeError.invalidRequest("Invalid hash", param: "metadata")
        }
    }

    /// `expand[0]=a.b` paths, at most four levels deep.
    mutating func expand() throws(StripeError) -> [String] {
        let paths = try strings("expand") ?? []
        for path in paths where path.split(separator: ".").count > 4 {
            throw StripeError.invalidRequest(
                "You cannot expand more than 4 levels of a property. Property: \(path)", param: "expand")
        }
        return paths
    }

    /// `created=N` or `created[gt|gte|lt|lte]=N`.
    mutating func range(_ name: String) throws(StripeError) -> TimeRange {
        read.insert(name)
        var range = TimeRange()
        switch values[name] {
        case nil: break
        case .string(let text):
            guard let value = Int64(text) else { throw StripeError.invalidInteger(name) }
            range.gte = value
            range.lte = value
        case .map(let map):
            for (key, value) in map {
                guard case .string(let text) = value, let number = Int64(text) else { throw StripeError.invalidInteger("\(name)[\(key)]") }
                switch key {
                case "gt": range.gte = number + 1
                case "gte": range.gte = number
                case "lt": range.lte = number - 1
                case "lte": range.lte = number
                default: throw StripeError.unknownParameter("\(name)[\(key)]")
                }
            }
        case .list: throw StripeError.invalidRequest("Invalid \(name)", param: name)
        }
        return range
    }
}

/// An inclusive range of Unix times; open ends are nil.
struct TimeRange: Sendable {
    var gte: Int64?
    var lte: Int64?

    func contains(_ time: Int64) -> Bool {
        (gte.map { time >= $0 } ?? true) && (lte.map { time <= $0 } ?? true)
    }
}
