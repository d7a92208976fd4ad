/// An unsigned 256-bit integer: EVM words, token amounts, ABI `uint256`, RLP quantities.
///
/// Deliberately small: parsing and printing (decimal and hex), comparison, addition and subtraction
/// with overflow reporting and the 32-byte big-endian encoding. The ledger core has its own type;
/// this one exists so that the EVM toolkit does not depend on the core.
public struct UInt256: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    // Least significant limb first.
    var limbs: (UInt64, UInt64, UInt64, UInt64)

    /// Zero.
    public static let zero = UInt256(limbs: (0, 0, 0, 0))
    /// 2^256 - 1.
    public static let max = UInt256(limbs: (.max, .max, .max, .max))

    init(limbs: (UInt64, UInt64, UInt64, UInt64)) { self.limbs = limbs }

    /// Widens a 64-bit value.
    public init(_ value: UInt64) { limbs = (value, 0, 0, 0) }

    public init(integerLiteral value: UInt64) { self.init(value) }

    /// Parses decimal digits (leading zeros allowed, no sign, no separators).
    ///
    /// - Throws: ``EVMError/Code/invalidNumber`` for anything but digits, ``EVMError/Code/overflow``
    ///   above 2^256 - 1.
    public init(decimal: some StringProtocol) throws(EVMError) {
        guard !decimal.isEmpty else { throw EVMError(.invalidNumber, "empty decimal number") }
        var value = UInt256.zero
        for ascii in decimal.utf8 {
            guard ascii >= UInt8(ascii: "0") && ascii <= UInt8(ascii: "9") else {
                throw EVMError(.invalidNumber, "not a decimal number: \(String(decimal).prefix(100).debugDescription)")
            }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt256(UInt64(ascii - UInt8(ascii: "0"))))
            guard !o1 && !o2 else { throw EVMError(.overflow, "decimal number exceeds 2^256-1") }
            value = sum
        }
        self = value
    }

    /// Parses hex digits with or without `0x`, of any length up to 64 significant digits (JSON-RPC
    /// quantities such as `0x1` have odd lengths).
    ///
    /// - Throws: ``EVMError/Code/invalidNumber`` for no digits or a non-hex character,
    ///   ``EVMError/Code/overflow`` above 2^256 - 1.
    public init(hex: some StringProtocol) throws(EVMError) {
        var digits = Substring(hex).utf8[...]
        if digits.starts(with: "0x".utf8) || digits.starts(with: "0X".utf8) { digits = digits.dropFirst(2) }
        guard !digits.isEmpty else { throw EVMError(.invalidNumber, "hex number without digits") }
        var value = UInt256.zero
        var significant = 0
        for ascii in digits {
            guard let nibble = Hex.value(of: ascii) else {
                throw EVMError(.invalidNumber, "not a hex number: \(String(hex).prefix(100).debugDescription)")
            }
            if significant > 0 || nibble != 0 { significant += 1 }
            guard significant <= 64 else { throw EVMError(.overflow, "hex number exceeds 2^256-1") }
            value = value.shiftedLeft4().settingLowBits(UInt64(nibble))
        }
        self = value
    }

    /// Reads up to 32 big-endian bytes.
    ///
    /// - Throws: ``EVMError/Code/overflow`` for more than 32 bytes unless the extra leading bytes are zero.
    public init(bigEndian bytes: some Collection<UInt8>) throws(EVMError) {
        var value = UInt256.zero
        var significant = 0
        for byte in bytes {
            if significant > 0 || byte != 0 { significant += 1 }
            guard significant <= 32 else { throw EVMError(.overflow, "more than 32 significant bytes") }
            value = value.shiftedLeft4().shiftedLeft4().settingLowBits(UInt64(byte))
        }
        self = value
    }

    /// The value as 32 big-endian bytes.
    public var bigEndianBytes: [UInt8] { word.bytes }

    /// The value as a 32-byte word (big-endian, as the EVM stores it).
    public var word: Hash32 {
        Hash32(storage: (limbs.3.bigEndian, limbs.2.bigEndian, limbs.1.bigEndian, limbs.0.bigEndian))
    }

    /// The big-endian bytes without leading zeros: empty for zero (how RLP encodes integers).
    public var minimalBigEndianBytes: [UInt8] { Array(bigEndianBytes.drop { $0 == 0 }) }

    /// Whether the value is zero.
    public var isZero: Bool { limbs.0 == 0 && limbs.1 == 0 && limbs.2 == 0 && limbs.3 == 0 }

    /// The value when it fits in 64 bits.
    public var uint64: UInt64? { limbs.1 == 0 && limbs.2 == 0 && limbs.3 == 0 ? limbs.0 : nil }

    /// Decimal digits.
    public var description: String {
        // Amounts are mostly below 2^64: the standard library's conversion is several times faster.
        if limbs.1 == 0 && limbs.2 == 0 && limbs.3 == 0 { return String(limbs.0) }
        var digits: [UInt8] = []
        var value = self
        // Nineteen digits at a time: 10^19 is the largest power of ten below 2^64.
        while !value.isZero {
            let (quotient, remainder) = value.quotientAndRemainder(dividingBy: 10_000_000_000_000_000_000)
            var chunk = remainder
            for _ in 0..<19 {
                digits.append(UInt8(ascii: "0") + UInt8(chunk % 10))
                chunk /= 10
                if quotient.isZero && chunk == 0 { break }
            }
            value = quotient
        }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }

    /// A JSON-RPC quantity: `0x` and hex digits without leading zeros (`0x0` for zero).
    public var hexQuantity: String {
        let hex = Hex.encode(minimalBigEndianBytes, prefix: false).drop { $0 == "0" }
        return hex.isEmpty ? "0x0" : "0x" + hex
    }

    /// The sum and whether it wrapped around 2^256.
    public func addingReportingOverflow(_ other: UInt256) -> (partialValue: UInt256, overflow: Bool) {
        let (s0, c0) = limbs.0.addingReportingOverflow(other.limbs.0)
        let (t1, c1a) = limbs.1.addingReportingOverflow(other.limbs.1)
        let (s1, c1b) = t1.addingReportingOverflow(c0 ? 1 : 0)
        let (t2, c2a) = limbs.2.addingReportingOverflow(other.limbs.2)
        let (s2, c2b) = t2.addingReportingOverflow(c1a || c1b ? 1 : 0)
        let (t3, c3a) = limbs.3.addingReportingOverflow(other.limbs.3)
        let (s3, c3b) = t3.addingReportingOverflow(c2a || c2b ? 1 : 0)
        return (UInt256(limbs: (s0, s1, s2, s3)), c3a || c3b)
    }

    /// The difference and whether it wrapped below zero.
    public func subtractingReportingOverflow(_ other: UInt256) -> (partialValue: UInt256, overflow: Bool) {
        let (d0, b0) = limbs.0.subtractingReportingOverflow(other.limbs.0)
        let (t1, b1a) = limbs.1.subtractingReportingOverflow(other.limbs.1)
        let (d1, b1b) = t1.subtractingReportingOverflow(b0 ? 1 : 0)
        let (t2, b2a) = limbs.2.subtractingReportingOverflow(other.limbs.2)
        let (d2, b2b) = t2.subtractingReportingOverflow(b1a || b1b ? 1 : 0)
        let (t3, b3a) = limbs.3.subtractingReportingOverflow(other.limbs.3)
        let (d3, b3b) = t3.subtractingReportingOverflow(b2a || b2b ? 1 : 0)
        return (UInt256(limbs: (d0, d1, d2, d3)), b3a || b3b)
    }

    /// The product by a 64-bit factor and whether it exceeded 2^256 - 1.
    public func multipliedReportingOverflow(by factor: UInt64) -> (partialValue: UInt256, overflow: Bool) {
        var carry: UInt64 = 0
        func step(_ limb: UInt64) -> UInt64 {
            let (high, low) = limb.multipliedFullWidth(by: factor)
            let (sum, c) = low.addingReportingOverflow(carry)
            carry = high &+ (c ? 1 : 0)
            return sum
        }
        let product = UInt256(limbs: (step(limbs.0), step(limbs.1), step(limbs.2), step(limbs.3)))
        return (product, carry != 0)
    }

    /// The quotient and remainder of a division by a non-zero 64-bit divisor.
    public func quotientAndRemainder(dividingBy divisor: UInt64) -> (quotient: UInt256, remainder: UInt64) {
        precondition(divisor != 0, "division by zero")
        var remainder: UInt64 = 0
        func step(_ limb: UInt64) -> UInt64 {
            let (q, r) = divisor.dividingFullWidth((remainder, limb))
            remainder = r
            return q
        }
        let q3 = step(limbs.3)
        let q2 = step(limbs.2)
        let q1 = step(limbs.1)
        let q0 = step(limbs.0)
        return (UInt256(limbs: (q0, q1, q2, q3)), remainder)
    }

    /// Sum; traps on overflow like the standard integer types.
    public static func + (lhs: UInt256, rhs: UInt256) -> UInt256 {
        let (value, overflow) = lhs.addingReportingOverflow(rhs)
        precondition(!overflow, "UInt256 addition overflow")
        return value
    }

    /// Difference; traps below zero like the standard integer types.
    public static func - (lhs: UInt256, rhs: UInt256) -> UInt256 {
        let (value, overflow) = lhs.subtractingReportingOverflow(rhs)
        precondition(!overflow, "UInt256 subtraction overflow")
        return value
    }

    public static func < (lhs: UInt256, rhs: UInt256) -> Bool {
        if lhs.limbs.3 != rhs.limbs.3 { return lhs.limbs.3 < rhs.limbs.3 }
        if lhs.limbs.2 != rhs.limbs.2 { return lhs.limbs.2 < rhs.limbs.2 }
        if lhs.limbs.1 != rhs.limbs.1 { return lhs.limbs.1 < rhs.limbs.1 }
        return lhs.limbs.0 < rhs.limbs.0
    }

    public static func == (lhs: UInt256, rhs: UInt256) -> Bool {
        lhs.limbs.0 == rhs.limbs.0 && lhs.limbs.1 == rhs.limbs.1 && lhs.limbs.2 == rhs.limbs.2 && lhs.limbs.3 == rhs.limbs.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(limbs.0)
        hasher.combine(limbs.1)
        hasher.combine(limbs.2)
        hasher.combine(limbs.3)
    }

    // Shift left by four bits, dropping what falls off the top (callers bound the digit count).
    private func shiftedLeft4() -> UInt256 {
        UInt256(limbs: (limbs.0 << 4, limbs.1 << 4 | limbs.0 >> 60, limbs.2 << 4 | limbs.1 >> 60, limbs.3 << 4 | limbs.2 >> 60))
    }

    private func settingLowBits(_ bits: UInt64) -> UInt256 {
        UInt256(limbs: (limbs.0 | bits, limbs.1, limbs.2, limbs.3))
    }
}
