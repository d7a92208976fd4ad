/// An integer of magnitude up to 2^256-1 with a sign, for net balances and entry deltas.
public struct SignedAmount: Sendable, Hashable, Codable, CustomStringConvertible {
    public var isNegative: Bool
    public var magnitude: UInt256

    public init(_ magnitude: UInt256, negative: Bool = false) {
        self.magnitude = magnitude
        self.isNegative = negative && !magnitude.isZero
    }

    /// `a - b` exactly.
    public init(_ a: UInt256, minus b: UInt256) {
        if a >= b { self.init(a.subtracting(b)!) } else { self.init(b.subtracting(a)!, negative: true) }
    }

    /// Parses `-?[0-9]+` as printed by PostgreSQL for NUMERIC(78,0).
    init?(decimal text: some StringProtocol) {
        if text.first == "-" {
            guard let m = UInt256(decimal: text.dropFirst()) else { return nil }
            self.init(m, negative: true)
        } else {
            guard let m = UInt256(decimal: text) else { return nil }
            self.init(m)
        }
    }

    public var description: String { (isNegative ? "-" : "") + magnitude.decimalString }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let v = SignedAmount(decimal: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a signed integer: \(text)"))
        }
        self = v
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension SignedAmount: Comparable {
    public static func < (a: SignedAmount, b: SignedAmount) -> Bool {
        switch (a.isNegative, b.isNegative) {
        case (true, false): true
        case (false, true): false
        case (false, false): a.magnitude < b.magnitude
        case (true, true): a.magnitude > b.magnitude
        }
    }
}
