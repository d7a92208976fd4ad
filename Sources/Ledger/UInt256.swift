/// An exact unsigned 256-bit integer for token amounts in base units (ERC-20 `uint256`).
///
/// Deliberately *not* a `FixedWidthInteger`: the ledger only needs checked arithmetic,
/// exact parsing/formatting and byte conversion, and a small surface keeps every
/// overflow path explicit. There are no trapping `+`/`-`/`*` operators on purpose —
/// callers must decide what an overflow means for a balance.
public struct UInt256: Sendable, Hashable {
    // Little-endian limbs: `w0` holds the least significant 64 bits. Four stored
    // properties (not an array) keep the type allocation-free and let the compiler
    // synthesize `Equatable`/`Hashable`.
    @usableFromInline internal var w0: UInt64
    @usableFromInline internal var w1: UInt64
    @usableFromInline internal var w2: UInt64
    @usableFromInline internal var w3: UInt64

    @inlinable
    internal init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// The value 0.
    public static let zero = UInt256(w0: 0, w1: 0, w2: 0, w3: 0)

    /// The largest representable value, 2^256 − 1.
    public static let max = UInt256(w0: .max, w1: .max, w2: .max, w3: .max)

    /// Creates a value from a 64-bit unsigned integer.
    @inlinable
    public init(_ v: UInt64) {
        self.init(w0: v, w1: 0, w2: 0, w3: 0)
    }

    /// Creates a value from a non-negative integer of any type, or `nil` if it is
    /// negative or does not fit in 256 bits.
    public init?(exactly source: some BinaryInteger) {
        if source < 0 { return nil }
        var result = UInt256.zero
        var shift = 0
        // `words` is two's complement, little-endian; for a non-negative value every
        // word beyond the significant ones is zero, so only non-zero words matter.
        for word in source.words {
            if word != 0 {
                guard shift < 256 else { return nil }
                result.setLimb(shift / 64, result.limb(shift / 64) | (UInt64(word) << UInt64(shift % 64)))
            }
            shift += UInt.bitWidth
        }
        self = result
    }

    /// `true` if the value is 0.
    @inlinable
    public var isZero: Bool { (w0 | w1 | w2 | w3) == 0 }

    /// The value as a `UInt64`, or `nil` if it is 2^64 or larger.
    @inlinable
    public var uint64Value: UInt64? { (w1 | w2 | w3) == 0 ? w0 : nil }

    // Switch-based limb access: the limb index is a constant after inlining, so this
    // folds away; it exists only so loops over bit positions stay readable.
    @inline(__always)
    internal func limb(_ i: Int) -> UInt64 {
        switch i {
        case 0: w0
        case 1: w1
        case 2: w2
        default: w3
        }
    }

    @inline(__always)
    internal mutating func setLimb(_ i: Int, _ value: UInt64) {
        switch i {
        case 0: w0 = value
        case 1: w1 = value
        case 2: w2 = value
        default: w3 = value
        }
    }

    /// Shifts left by `bits` (1...63) and ORs `low` into the vacated bits. Callers
    /// bound their input length so that nothing is shifted out of the top limb.
    @inline(__always)
    internal mutating func shiftIn(_ low: UInt64, bits: UInt64) {
        let back = 64 - bits
        w3 = (w3 << bits) | (w2 >> back)
        w2 = (w2 << bits) | (w1 >> back)
        w1 = (w1 << bits) | (w0 >> back)
        w0 = (w0 << bits) | low
    }

    internal var leadingZeroBitCount: Int {
        if w3 != 0 { return w3.leadingZeroBitCount }
        if w2 != 0 { return 64 + w2.leadingZeroBitCount }
        if w1 != 0 { return 128 + w1.leadingZeroBitCount }
        return 192 + w0.leadingZeroBitCount
    }
}

// MARK: - Literals and comparison

extension UInt256: ExpressibleByIntegerLiteral {
    /// Literals are limited to `UInt64` (a literal above 2^64 − 1 is a compile error);
    /// larger constants go through `init?(decimal:)` or `init?(hex:)`.
    public typealias IntegerLiteralType = UInt64

    /// Creates a value from an integer literal.
    @inlinable
    public init(integerLiteral value: UInt64) {
        self.init(value)
    }
}

extension UInt256: Comparable {
    /// Compares from the most significant limb down.
    @inlinable
    public static func < (lhs: UInt256, rhs: UInt256) -> Bool {
        if lhs.w3 != rhs.w3 { return lhs.w3 < rhs.w3 }
        if lhs.w2 != rhs.w2 { return lhs.w2 < rhs.w2 }
        if lhs.w1 != rhs.w1 { return lhs.w1 < rhs.w1 }
        return lhs.w0 < rhs.w0
    }
}

// MARK: - Arithmetic

/// `a * b + c + d` as a 128-bit (high, low) pair. Cannot overflow:
/// (2^64−1)^2 + 2(2^64−1) = 2^128 − 1.
@inline(__always)
private func mulAdd(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> (UInt64, UInt64) {
    let p = a.multipliedFullWidth(by: b)
    let (l1, o1) = p.low.addingReportingOverflow(c)
    let (l2, o2) = l1.addingReportingOverflow(d)
    let h = p.high &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
    return (h, l2)
}

extension UInt256 {
    /// Returns `self + other` modulo 2^256 and whether the true sum exceeded 2^256 − 1.
    @inlinable
    public func addingReportingOverflow(_ other: UInt256) -> (partialValue: UInt256, overflow: Bool) {
        let (s0, c0) = w0.addingReportingOverflow(other.w0)
        let (t1, a1) = w1.addingReportingOverflow(other.w1)
        let (s1, b1) = t1.addingReportingOverflow(c0 ? 1 : 0)
        let (t2, a2) = w2.addingReportingOverflow(other.w2)
        let (s2, b2) = t2.addingReportingOverflow((a1 || b1) ? 1 : 0)
        let (t3, a3) = w3.addingReportingOverflow(other.w3)
        let (s3, b3) = t3.addingReportingOverflow((a2 || b2) ? 1 : 0)
        return (UInt256(w0: s0, w1: s1, w2: s2, w3: s3), a3 || b3)
    }

    /// Returns `self - other` modulo 2^256 and whether `other` was larger than `self`.
    @inlinable
    public func subtractingReportingOverflow(_ other: UInt256) -> (partialValue: UInt256, overflow: Bool) {
        let (d0, c0) = w0.subtractingReportingOverflow(other.w0)
        let (t1, a1) = w1.subtractingReportingOverflow(other.w1)
        let (d1, b1) = t1.subtractingReportingOverflow(c0 ? 1 : 0)
        let (t2, a2) = w2.subtractingReportingOverflow(other.w2)
        let (d2, b2) = t2.subtractingReportingOverflow((a1 || b1) ? 1 : 0)
        let (t3, a3) = w3.subtractingReportingOverflow(other.w3)
        let (d3, b3) = t3.subtractingReportingOverflow((a2 || b2) ? 1 : 0)
        return (UInt256(w0: d0, w1: d1, w2: d2, w3: d3), a3 || b3)
    }

    /// Returns the low 256 bits of `self * other` and whether the full product
    /// exceeded 2^256 − 1.
    public func multipliedReportingOverflow(by other: UInt256) -> (partialValue: UInt256, overflow: Bool) {
        // Full 512-bit schoolbook product, unrolled into locals so nothing is
        // heap-allocated; overflow is simply "any of the high four limbs is non-zero".
        let (a0, a1, a2, a3) = (w0, w1, w2, w3)
        let (b0, b1, b2, b3) = (other.w0, other.w1, other.w2, other.w3)
        var c: UInt64
        var r0, r1, r2, r3, r4, r5, r6, r7: UInt64

        (c, r0) = mulAdd(a0, b0, 0, 0)
        (c, r1) = mulAdd(a0, b1, 0, c)
        (c, r2) = mulAdd(a0, b2, 0, c)
        (c, r3) = mulAdd(a0, b3, 0, c)
        r4 = c

        (c, r1) = mulAdd(a1, b0, r1, 0)
        (c, r2) = mulAdd(a1, b1, r2, c)
        (c, r3) = mulAdd(a1, b2, r3, c)
        (c, r4) = mulAdd(a1, b3, r4, c)
        r5 = c

        (c, r2) = mulAdd(a2, b0, r2, 0)
        (c, r3) = mulAdd(a2, b1, r3, c)
        (c, r4) = mulAdd(a2, b2, r4, c)
        (c, r5) = mulAdd(a2, b3, r5, c)
        r6 = c

        (c, r3) = mulAdd(a3, b0, r3, 0)
        (c, r4) = mulAdd(a3, b1, r4, c)
        (c, r5) = mulAdd(a3, b2, r5, c)
        (c, r6) = mulAdd(a3, b3, r6, c)
        r7 = c

        return (UInt256(w0: r0, w1: r1, w2: r2, w3: r3), (r4 | r5 | r6 | r7) != 0)
    }

    /// `self * m + a`, reporting overflow past 2^256 − 1. Used by decimal parsing.
    internal func multipliedReportingOverflow(by m: UInt64, adding a: UInt64) -> (partialValue: UInt256, overflow: Bool) {
        var c: UInt64
        var r0, r1, r2, r3: UInt64
        (c, r0) = mulAdd(w0, m, a, 0)
        (c, r1) = mulAdd(w1, m, c, 0)
        (c, r2) = mulAdd(w2, m, c, 0)
        (c, r3) = mulAdd(w3, m, c, 0)
        return (UInt256(w0: r0, w1: r1, w2: r2, w3: r3), c != 0)
    }

    /// Returns `self + other`, or `nil` if the sum exceeds 2^256 − 1.
    @inlinable
    public func adding(_ other: UInt256) -> UInt256? {
        let (v, o) = addingReportingOverflow(other)
        return o ? nil : v
    }

    /// Returns `self - other`, or `nil` if `other` is larger than `self`.
    @inlinable
    public func subtracting(_ other: UInt256) -> UInt256? {
        let (v, o) = subtractingReportingOverflow(other)
        return o ? nil : v
    }

    /// Returns `self * other`, or `nil` if the product exceeds 2^256 − 1.
    @inlinable
    public func multiplied(by other: UInt256) -> UInt256? {
        let (v, o) = multipliedReportingOverflow(by: other)
        return o ? nil : v
    }

    /// Divides by a 64-bit divisor, returning the quotient and the remainder.
    ///
    /// A 64-bit divisor is enough for decimal formatting and unit conversion and
    /// keeps division a simple limb-by-limb long division.
    /// - Precondition: `divisor` is not zero (traps, like the standard library).
    public func quotientAndRemainder(dividingBy divisor: UInt64) -> (quotient: UInt256, remainder: UInt64) {
        precondition(divisor != 0, "UInt256 division by zero")
        // Each step divides (remainder:limb) by the divisor; since remainder < divisor
        // the 64-bit quotient digit cannot overflow.
        let (q3, r3) = divisor.dividingFullWidth((high: 0, low: w3))
        let (q2, r2) = divisor.dividingFullWidth((high: r3, low: w2))
        let (q1, r1) = divisor.dividingFullWidth((high: r2, low: w1))
        let (q0, r0) = divisor.dividingFullWidth((high: r1, low: w0))
        return (UInt256(w0: q0, w1: q1, w2: q2, w3: q3), r0)
    }
}

// MARK: - Decimal

extension UInt256 {
    /// 10^19, the largest power of ten that fits in a `UInt64`; parsing and formatting
    /// work in 19-digit chunks so most of the work is native 64-bit arithmetic.
    internal static let decimalChunk: UInt64 = 10_000_000_000_000_000_000
    internal static let decimalChunkDigits = 19
    /// 2^256 − 1 has 78 decimal digits.
    internal static let maxDecimalDigits = 78

    internal enum DecimalParseError: Error, CustomStringConvertible {
        case empty
        case invalidCharacter
        case leadingZero
        case outOfRange

        var description: String {
            switch self {
            case .empty: "empty string is not a UInt256 amount"
            case .invalidCharacter: "UInt256 amount must contain only the ASCII digits 0-9 (no sign, whitespace, decimal point or exponent)"
            case .leadingZero: "UInt256 amount must not have leading zeros"
            case .outOfRange: "UInt256 amount exceeds 2^256-1"
            }
        }
    }

    /// Strict canonical-decimal parser shared by `init?(decimal:)` and `Decodable`,
    /// so both accept exactly the same spellings (one spelling per value).
    internal static func parseDecimal(_ text: some StringProtocol) -> Result<UInt256, DecimalParseError> {
        let utf8 = text.utf8
        // Validate fully before converting so the error names the most basic problem
        // (garbage beats leading zero beats range) regardless of where it occurs.
        var count = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                return .failure(.invalidCharacter)
            }
            count += 1
        }
        guard let first = utf8.first else { return .failure(.empty) }
        if first == UInt8(ascii: "0"), count > 1 { return .failure(.leadingZero) }
        guard count <= maxDecimalDigits else { return .failure(.outOfRange) }

        var result = UInt256.zero
        var chunk: UInt64 = 0
        // The first chunk takes the remainder so every later chunk is exactly 19 digits;
        // the first chunk can then be stored directly without a multiply.
        var remainingInChunk = count % decimalChunkDigits == 0 ? decimalChunkDigits : count % decimalChunkDigits
        var isFirstChunk = true
        for byte in utf8 {
            chunk = chunk &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
            remainingInChunk -= 1
            guard remainingInChunk == 0 else { continue }
            if isFirstChunk {
                result = UInt256(chunk)
                isFirstChunk = false
            } else {
                // Needed despite the 78-digit limit: 78-digit strings can still exceed 2^256 − 1.
                let (next, overflow) = result.multipliedReportingOverflow(by: decimalChunk, adding: chunk)
                if overflow { return .failure(.outOfRange) }
                result = next
            }
            chunk = 0
            remainingInChunk = decimalChunkDigits
        }
        return .success(result)
    }

    /// Parses a canonical decimal string: 1–78 ASCII digits, no sign, no whitespace,
    /// no leading zeros (except `"0"` itself), at most 2^256 − 1. Returns `nil` otherwise.
    public init?(decimal text: some StringProtocol) {
        guard case .success(let value) = UInt256.parseDecimal(text) else { return nil }
        self = value
    }

    /// The canonical decimal representation (no leading zeros, `"0"` for zero).
    public var decimalString: String {
        if let small = uint64Value { return String(small) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: UInt256.maxDecimalDigits) { buffer in
            // Fill from the end: each division by 10^19 yields 19 digits, so only
            // five 256-by-64-bit divisions are needed instead of 78.
            var position = buffer.count
            var rest = self
            while true {
                let (quotient, remainder) = rest.quotientAndRemainder(dividingBy: UInt256.decimalChunk)
                var chunk = remainder
                if quotient.isZero {
                    repeat {
                        position -= 1
                        buffer[position] = UInt8(truncatingIfNeeded: chunk % 10) &+ UInt8(ascii: "0")
                        chunk /= 10
                    } while chunk != 0
                    break
                }
                // Inner chunks are zero-padded to exactly 19 digits.
                for _ in 0..<UInt256.decimalChunkDigits {
                    position -= 1
                    buffer[position] = UInt8(truncatingIfNeeded: chunk % 10) &+ UInt8(ascii: "0")
                    chunk /= 10
                }
                rest = quotient
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[position...]), as: UTF8.self)
        }
    }
}

extension UInt256: CustomStringConvertible {
    /// The decimal representation; amounts are read by humans in decimal.
    public var description: String { decimalString }
}

// MARK: - Hex and bytes

extension UInt256 {
    /// Parses 1–64 hexadecimal digits (either case) with an optional lowercase `"0x"`
    /// prefix. Leading zeros are allowed because ABI and RPC values are often padded.
    public init?(hex text: some StringProtocol) {
        var digits = text.utf8[...]
        if digits.first == UInt8(ascii: "0"), digits.dropFirst().first == UInt8(ascii: "x") {
            digits = digits.dropFirst(2)
        }
        guard !digits.isEmpty, digits.count <= 64 else { return nil }
        var result = UInt256.zero
        for byte in digits {
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte &- UInt8(ascii: "A") &+ 10
            default: return nil
            }
            result.shiftIn(UInt64(nibble), bits: 4)
        }
        self = result
    }

    /// Lowercase hexadecimal without prefix or leading zeros (`"0"` for zero).
    public var hexString: String {
        let nibbles = Swift.max(1, (256 - leadingZeroBitCount + 3) / 4)
        return String(unsafeUninitializedCapacity: nibbles) { buffer in
            for i in 0..<nibbles {
                let nibble = UInt8(truncatingIfNeeded: (limb(i / 16) >> UInt64((i % 16) * 4)) & 0xF)
                buffer[nibbles - 1 - i] = nibble < 10 ? nibble &+ UInt8(ascii: "0") : nibble &- 10 &+ UInt8(ascii: "a")
            }
            return nibbles
        }
    }

    /// Interprets up to 32 bytes as a big-endian number (shorter input is treated as
    /// left-padded with zeros, empty input as zero). Returns `nil` for more than 32 bytes
    /// rather than trapping, because the bytes usually come from untrusted input.
    public init?(bigEndianBytes bytes: some Collection<UInt8>) {
        guard bytes.count <= 32 else { return nil }
        var result = UInt256.zero
        for byte in bytes {
            result.shiftIn(UInt64(byte), bits: 8)
        }
        self = result
    }

    /// Exactly 32 bytes, most significant first — the ABI `uint256` word layout.
    public var bigEndianBytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { buffer, initializedCount in
            for i in 0..<32 {
                buffer[i] = UInt8(truncatingIfNeeded: limb(3 - i / 8) >> UInt64(56 - 8 * (i % 8)))
            }
            initializedCount = 32
        }
    }
}

// MARK: - Codable

extension UInt256: Codable {
    /// Decodes from a JSON string of canonical decimal digits. JSON numbers are
    /// rejected because most JSON stacks round them through `Double`, silently
    /// corrupting amounts above 2^53.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        do {
            text = try container.decode(String.self)
        } catch DecodingError.typeMismatch {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "UInt256 amount must be a string of decimal digits (e.g. \"1000000\"), not a number or other JSON type"
            )
        }
        switch UInt256.parseDecimal(text) {
        case .success(let value):
            self = value
        case .failure(let reason):
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(reason): \"\(text.prefix(100))\"")
        }
    }

    /// Encodes as a JSON string of decimal digits (see `init(from:)` for why not a number).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(decimalString)
    }
}
