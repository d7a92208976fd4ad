extension NewTransfer {
    /// Reads the plain form of a transfer request, the one nearly every payment takes:
    /// `{"id": …, "type": "post" | "hold", "postings": [{"direction", "account", "amount"}, …],
    /// "timeout": n}` with no escapes in strings, and nothing else.
    ///
    /// Returns nil for anything else (another field, an escape, a duplicate key, a value the
    /// `Decodable` form would refuse, malformed JSON): the caller then decodes with `Decodable`,
    /// which stays the only definition of the JSON form and of every error. For what it accepts,
    /// the result is the value `Decodable` gives (`FastJSONTests` compares them). `JSONDecoder` was
    /// a tenth of the CPU of a posted transfer over HTTP.
    public init?(plainJSON bytes: UnsafeRawBufferPointer) {
        var scanner = PlainJSONScanner(bytes: bytes)
        guard let transfer = scanner.transfer() else { return nil }
        self = transfer
    }
}

/// A scanner for the subset of JSON that ``NewTransfer/init(plainJSON:)`` takes.
private struct PlainJSONScanner {
    let bytes: UnsafeRawBufferPointer
    var i = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func transfer() -> NewTransfer? {
        var id: TransferID?
        var type: String?
        var postings: [Posting]?
        var timeout: Int64?
        var seen = Set<String>()
        guard
            object({ key, scanner in
                guard seen.insert(key).inserted else { return false }
                switch key {
                case "id":
                    guard let text = scanner.string(), let value = try? TransferID(text) else { return false }
                    id = value
                case "type":
                    guard let text = scanner.string(), text == "post" || text == "hold" else { return false }
                    type = text
                case "postings":
                    guard let value = scanner.postings() else { return false }
                    postings = value
                case "timeout":
                    guard let value = scanner.integer() else { return false }
                    timeout = value
                default:
                    return false
                }
                return true
            })
        else { return nil }
        skipWhitespace()
        guard i == bytes.count, let id, let postings, !postings.isEmpty else { return nil }
        switch type ?? "post" {
        case "post":
            guard timeout == nil else { return nil }
            return NewTransfer(id: id, .post(postings))
        default:
            return NewTransfer(id: id, .hold(postings, timeout: timeout))
        }
    }

    mutating func postings() -> [Posting]? {
        skipWhitespace()
        guard take(UInt8(ascii: "[")) else { return nil }
        var postings: [Posting] = []
        skipWhitespace()
        if take(UInt8(ascii: "]")) { return postings }
        repeat {
            guard let posting = posting() else { return nil }
            postings.append(posting)
            skipWhitespace()
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? postings : nil
    }

    mutating func posting() -> Posting? {
        var direction: Posting.Direction?
        var account: AccountID?
        var amount: UInt256?
        guard
            object({ key, scanner in
                guard let text = scanner.string() else { return false }
                switch key {
                case "direction" where direction == nil:
                    guard let value = Posting.Direction(rawValue: text) else { return false }
                    direction = value
                case "account" where account == nil:
                    guard let value = try? AccountID(text) else { return false }
                    account = value
                case "amount" where amount == nil:
                    guard case .success(let value) = UInt256.parseDecimal(text) else { return false }
                    amount = value
                default:
                    return false
                }
                return true
            })
        else { return nil }
        guard let direction, let account, let amount else { return nil }
        return Posting(direction, account, amount)
    }

    /// An object whose every member `member` reads (given its key, positioned before the value).
    mutating func object(_ member: (String, inout PlainJSONScanner) -> Bool) -> Bool {
        skipWhitespace()
        guard take(UInt8(ascii: "{")) else { return false }
        skipWhitespace()
        if take(UInt8(ascii: "}")) { return true }
        repeat {
            guard let key = string() else { return false }
            skipWhitespace()
            guard take(UInt8(ascii: ":")), member(key, &self) else { return false }
            skipWhitespace()
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}"))
    }

    /// A string without escapes or control characters.
    mutating func string() -> String? {
        skipWhitespace()
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = i
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                i += 1
                return text
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            i += 1
        }
        return nil
    }

    /// A JSON integer in its one plain spelling (no sign on zero, no leading zeros, no fraction
    /// or exponent) that fits an Int64.
    mutating func integer() -> Int64? {
        skipWhitespace()
        let negative = take(UInt8(ascii: "-"))
        let start = i
        var value: Int64 = 0
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            let digit = Int64(bytes[i] - UInt8(ascii: "0"))
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            guard !o1, !o2 else { return nil }
            value = sum
            i += 1
        }
        let digits = i - start
        guard digits > 0, !(digits > 1 && bytes[start] == UInt8(ascii: "0")), !(negative && value == 0) else { return nil }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") || bytes[i] | 0x20 == UInt8(ascii: "e") { return nil }
        return value
    }

    mutating func skipWhitespace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard i < bytes.count, bytes[i] == byte else { return false }
        i += 1
        return true
    }
}
