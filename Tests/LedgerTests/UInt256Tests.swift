import Foundation
import Testing
import Ledger

// MARK: - Helpers (private so they cannot collide with other test files in the module)

private let maxDecimal = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
private let twoTo256Decimal = "115792089237316195423570985008687907853269984665640564039457584007913129639936"

/// Builds a value from a hex literal; test-only convenience.
private func h(_ hex: String) -> UInt256 {
    guard let value = UInt256(hex: hex) else { fatalError("bad test hex \(hex)") }
    return value
}

private func d(_ decimal: String) -> UInt256 {
    guard let value = UInt256(decimal: decimal) else { fatalError("bad test decimal \(decimal)") }
    return value
}

/// 2^k for 0 <= k < 256.
private func pow2(_ k: Int) -> UInt256 {
    var bytes = [UInt8](repeating: 0, count: 32)
    bytes[31 - k / 8] = 1 << UInt8(k % 8)
    return UInt256(bigEndianBytes: bytes)!
}

private func toUInt128(_ x: UInt256) -> UInt128? {
    let bytes = x.bigEndianBytes
    guard bytes[..<16].allSatisfy({ $0 == 0 }) else { return nil }
    return bytes[16...].reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
}

/// SplitMix64: tiny, deterministic, good enough to drive property tests reproducibly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random values biased towards limb boundaries (all-zero / all-one limbs, single bits)
/// because that is where carry and borrow bugs live.
private func randomLimb(_ rng: inout SplitMix64) -> UInt64 {
    switch rng.next() % 6 {
    case 0: 0
    case 1: .max
    case 2: 1 << (rng.next() % 64)
    case 3: rng.next() % 1000
    default: rng.next()
    }
}

private func randomUInt256(_ rng: inout SplitMix64, limbs: Int? = nil) -> UInt256 {
    let count = limbs ?? Int(rng.next() % 5)  // 0...4 significant limbs
    var bytes: [UInt8] = []
    for _ in 0..<count {
        let limb = randomLimb(&rng)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: limb >> UInt64(shift)))
        }
    }
    return UInt256(bigEndianBytes: bytes)!
}

private struct Payload: Codable, Equatable {
    var amount: UInt256
}

private func decodePayload(_ json: String) throws -> Payload {
    try JSONDecoder().decode(Payload.self, from: Data(json.utf8))
}

// MARK: - Tests

@Suite("UInt256")
struct UInt256Tests {
    // MARK: Decimal

    @Test("decimal round trip", arguments: [
        ("0", "0"),
        ("1", "1"),
        ("18446744073709551615", "ffffffffffffffff"),  // 2^64 - 1
        ("18446744073709551616", "10000000000000000"),  // 2^64
        ("340282366920938463463374607431768211456", "100000000000000000000000000000000"),  // 2^128
        ("10000000000000000000", "8ac7230489e80000"),  // 10^19, exactly one chunk
        ("100000000000000000000000000000000000000", "4b3b4ca85a86c47a098a224000000000"),  // 10^38
        (maxDecimal, String(repeating: "f", count: 64)),
    ])
    func decimalRoundTrip(decimal: String, hex: String) throws {
        let value = try #require(UInt256(decimal: decimal))
        #expect(value.decimalString == decimal)
        #expect(value.description == decimal)
        #expect(value.hexString == hex)
        #expect(value == h(hex))
        // Substring input goes through the same generic path.
        #expect(UInt256(decimal: "x\(decimal)x".dropFirst().dropLast()) == value)
    }

    @Test func maxAndZeroConstants() {
        #expect(UInt256.max.decimalString == maxDecimal)
        #expect(UInt256.zero.decimalString == "0")
        #expect(UInt256.zero.isZero)
        #expect(!UInt256(1).isZero)
        #expect(!UInt256.max.isZero)
        #expect(pow2(255).decimalString == "57896044618658097711785492504343953926634992332820282019728792003956564819968")
    }

    @Test("decimal rejection", arguments: [
        twoTo256Decimal,
        "115792089237316195423570985008687907853269984665640564039457584007913129639999",
        "999999999999999999999999999999999999999999999999999999999999999999999999999999",  // 78 nines
        "1" + String(repeating: "0", count: 78),  // 79 digits
        String(repeating: "9", count: 79),
        String(repeating: "1", count: 200),
        "-1", "+1", "01", "00", "007", "", " 1", "1 ", " ", "1.0", "1e3", "0x10", "1_000", "1,000",
        "\u{0661}",  // ARABIC-INDIC DIGIT ONE: a Unicode digit, but not ASCII
        "１",  // FULLWIDTH DIGIT ONE
    ])
    func decimalRejection(text: String) {
        #expect(UInt256(decimal: text) == nil)
    }

    @Test func decimalAcceptsLargestAndNeighbors() throws {
        let max = try #require(UInt256(decimal: maxDecimal))
        #expect(max == .max)
        let belowMax = try #require(UInt256(decimal: "115792089237316195423570985008687907853269984665640564039457584007913129639934"))
        #expect(belowMax.adding(1) == .max)
        // 78-digit values below 10^77 * 1.15... are fine; 10^77 is 78 digits.
        let tenTo77 = try #require(UInt256(decimal: "1" + String(repeating: "0", count: 77)))
        #expect(tenTo77.decimalString.count == 78)
    }

    // MARK: Arithmetic

    @Test func additionCarriesAcrossLimbs() {
        #expect(UInt256(UInt64.max).adding(1) == pow2(64))
        #expect(h("ffffffffffffffffffffffffffffffff").adding(1) == pow2(128))
        #expect(h("ffffffffffffffffffffffffffffffffffffffffffffffff").adding(1) == pow2(192))
        #expect(pow2(64).adding(pow2(64)) == pow2(65))
        #expect(pow2(255).subtracting(1)!.adding(pow2(255)) == .max)

        let wrap = UInt256.max.addingReportingOverflow(1)
        #expect(wrap.overflow)
        #expect(wrap.partialValue == .zero)

        let doubleMax = UInt256.max.addingReportingOverflow(.max)
        #expect(doubleMax.overflow)
        #expect(doubleMax.partialValue == UInt256.max.subtracting(1))

        #expect(pow2(255).addingReportingOverflow(pow2(255)) == (.zero, true))
        #expect(UInt256.max.adding(1) == nil)
        #expect(UInt256.max.adding(0) == .max)
    }

    @Test func subtractionBorrowsAcrossLimbs() {
        #expect(pow2(64).subtracting(1) == UInt256(UInt64.max))
        #expect(pow2(128).subtracting(1) == h("ffffffffffffffffffffffffffffffff"))
        #expect(pow2(192).subtracting(1) == h("ffffffffffffffffffffffffffffffffffffffffffffffff"))
        #expect(UInt256.zero.subtracting(1) == nil)
        #expect(UInt256(5).subtracting(6) == nil)
        #expect(pow2(128).subtracting(pow2(128).adding(1)!) == nil)
        #expect(UInt256.max.subtracting(.max) == .zero)

        let underflow = UInt256.zero.subtractingReportingOverflow(1)
        #expect(underflow.overflow)
        #expect(underflow.partialValue == .max)

        // High limbs equal, low limb decides the borrow.
        let a = h("1" + String(repeating: "0", count: 62) + "5")
        let b = h("1" + String(repeating: "0", count: 62) + "6")
        #expect(a.subtracting(b) == nil)
        #expect(b.subtracting(a) == 1)
    }

    @Test func multiplicationCarriesAndOverflow() {
        let m64 = UInt256(UInt64.max)
        // (2^64 - 1)^2 = 2^128 - 2^65 + 1
        #expect(m64.multiplied(by: m64) == h("fffffffffffffffe0000000000000001"))
        #expect(pow2(64).multiplied(by: pow2(64)) == pow2(128))
        #expect(pow2(128).multiplied(by: pow2(127)) == pow2(255))
        #expect(pow2(100).multiplied(by: pow2(155)) == pow2(255))
        #expect(UInt256.max.multiplied(by: 1) == .max)
        #expect(UInt256.max.multiplied(by: 0) == .zero)
        #expect(UInt256.zero.multiplied(by: .max) == .zero)
        // 10^18 * 10^18 * 10^18 * 10^18 = 10^72 (fits), * 10^6 = 10^78 (does not).
        let e18 = UInt256(1_000_000_000_000_000_000)
        let e72 = e18.multiplied(by: e18)!.multiplied(by: e18)!.multiplied(by: e18)!
        #expect(e72.decimalString == "1" + String(repeating: "0", count: 72))
        #expect(e72.multiplied(by: 1_000_000) == nil)
        #expect(e72.multiplied(by: 100_000)?.decimalString == "1" + String(repeating: "0", count: 77))

        let square = pow2(128).multipliedReportingOverflow(by: pow2(128))
        #expect(square.overflow)
        #expect(square.partialValue == .zero)

        // max * max = 2^512 - 2^257 + 1 ≡ 1 (mod 2^256)
        let maxSquared = UInt256.max.multipliedReportingOverflow(by: .max)
        #expect(maxSquared.overflow)
        #expect(maxSquared.partialValue == 1)

        // Overflow that only shows up as a carry out of the top limb.
        let top = pow2(255).multipliedReportingOverflow(by: 2)
        #expect(top.overflow)
        #expect(top.partialValue == .zero)
        #expect(pow2(254).multiplied(by: 3) == pow2(255).adding(pow2(254)))
        #expect(pow2(254).multiplied(by: 4) == nil)
    }

    @Test func multiplicationOfPowersOfTwoDetectsEveryOverflowPosition() {
        // Exhaustive over single-bit operands: hits every limb pair, including products
        // whose only high bits land in limb 5 or 7 of the 512-bit intermediate.
        let powers = (0..<256).map(pow2)
        for i in 0..<256 {
            for j in 0..<256 {
                let (value, overflow) = powers[i].multipliedReportingOverflow(by: powers[j])
                if i + j < 256 {
                    if overflow || value != powers[i + j] { Issue.record("2^\(i) * 2^\(j)") }
                } else if !overflow || !value.isZero {
                    Issue.record("2^\(i) * 2^\(j) should overflow to 0")
                }
            }
        }
        #expect(pow2(96).multipliedReportingOverflow(by: pow2(224)) == (.zero, true))
        #expect(pow2(224).multipliedReportingOverflow(by: pow2(224)) == (.zero, true))
    }

    @Test func divisionBySmallDivisor() {
        let (q, r) = UInt256.max.quotientAndRemainder(dividingBy: 10)
        #expect(q.decimalString == String(maxDecimal.dropLast()))
        #expect(r == 5)
        #expect(UInt256.max.quotientAndRemainder(dividingBy: 1) == (.max, 0))
        #expect(UInt256.max.quotientAndRemainder(dividingBy: .max).remainder == 0)  // 2^64-1 divides 2^256-1
        #expect(pow2(64).quotientAndRemainder(dividingBy: 3) == (UInt256(6_148_914_691_236_517_205), 1))
        #expect(UInt256(7).quotientAndRemainder(dividingBy: 8) == (.zero, 7))
    }

    @Test func uint64AndExactlyConversions() {
        #expect(UInt256(UInt64.max).uint64Value == .max)
        #expect(UInt256.zero.uint64Value == 0)
        #expect(pow2(64).uint64Value == nil)
        #expect(pow2(200).uint64Value == nil)

        #expect(UInt256(exactly: 42) == 42)
        #expect(UInt256(exactly: Int8(127)) == 127)
        #expect(UInt256(exactly: -1) == nil)
        #expect(UInt256(exactly: Int64.min) == nil)
        #expect(UInt256(exactly: Int64.max) == UInt256(UInt64(Int64.max)))
        #expect(UInt256(exactly: UInt128.max) == h(String(repeating: "f", count: 32)))
        #expect(UInt256(exactly: Int128.max) == h("7" + String(repeating: "f", count: 31)))
        #expect(UInt256(exactly: Int128.min) == nil)
        #expect(UInt256(exactly: UInt128(1) << 100) == pow2(100))
    }

    @Test func literalsAndInterpolation() {
        let amount: UInt256 = 1_000_000
        #expect(amount == UInt256(1_000_000))
        #expect("\(amount)" == "1000000")
        let big: UInt256 = 18_446_744_073_709_551_615
        #expect(big.uint64Value == .max)
    }

    // MARK: Comparison and hashing

    @Test func comparisonsAcrossLimbs() {
        let ordered: [UInt256] = [
            .zero, 1, UInt256(UInt64.max), pow2(64), pow2(64).adding(1)!,
            h("ffffffffffffffffffffffffffffffff").subtracting(pow2(64))!,
            pow2(128), pow2(192), pow2(255), UInt256.max.subtracting(1)!, .max,
        ]
        for i in ordered.indices {
            for j in ordered.indices {
                #expect((ordered[i] < ordered[j]) == (i < j), "\(ordered[i]) < \(ordered[j])")
                #expect((ordered[i] == ordered[j]) == (i == j))
            }
        }
        #expect(ordered.shuffled().sorted() == ordered)
        // Higher limb wins even when the lower limbs are larger.
        #expect(h("10000000000000000" + "0000000000000000") > h("ffffffffffffffffffffffffffffffff"))
        #expect(Set(ordered + ordered).count == ordered.count)
    }

    // MARK: Hex

    @Test("hex round trip", arguments: [
        "0", "1", "f", "ffffffffffffffff", "10000000000000000", "100000000000000000000000000000000",
        "deadbeef00000000000000000000000000000000000000000000000000000001",
        String(repeating: "f", count: 64),
    ])
    func hexRoundTrip(hex: String) throws {
        let value = try #require(UInt256(hex: hex))
        #expect(value.hexString == hex)
        #expect(UInt256(hex: "0x" + hex) == value)
        #expect(UInt256(hex: hex.uppercased()) == value)
        #expect(UInt256(decimal: value.decimalString) == value)
    }

    @Test func hexParsingEdges() {
        #expect(UInt256(hex: "0x" + String(repeating: "0", count: 63) + "1") == 1)  // padded ABI word
        #expect(UInt256(hex: "00ff")?.hexString == "ff")
        #expect(UInt256(hex: "0x0") == .zero)
        #expect(UInt256(hex: "0xDeadBeef") == 0xdead_beef)
        #expect(UInt256(hex: String(repeating: "f", count: 64)) == .max)
    }

    @Test("hex rejection", arguments: [
        "", "0x", "0X1", "x1", "0xg", "g", " 1", "1 ", "-1", "+1", "0x-1", "0x 1", "0x0x1", "1.0",
        String(repeating: "1", count: 65), "0x" + String(repeating: "0", count: 65),
    ])
    func hexRejection(text: String) {
        #expect(UInt256(hex: text) == nil)
    }

    // MARK: Bytes

    @Test func bigEndianBytesRoundTrip() throws {
        let pattern = (1...32).map { UInt8($0) }
        let value = try #require(UInt256(bigEndianBytes: pattern))
        #expect(value.hexString == "102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20")
        #expect(value.bigEndianBytes == pattern)

        #expect(UInt256.zero.bigEndianBytes == [UInt8](repeating: 0, count: 32))
        #expect(UInt256.max.bigEndianBytes == [UInt8](repeating: 0xff, count: 32))
        #expect(UInt256(1).bigEndianBytes == [UInt8](repeating: 0, count: 31) + [1])
        #expect(pow2(64).bigEndianBytes == [UInt8](repeating: 0, count: 23) + [1] + [UInt8](repeating: 0, count: 8))

        // Shorter input is a left-padded big-endian number.
        #expect(UInt256(bigEndianBytes: [0x01, 0x00]) == 256)
        #expect(UInt256(bigEndianBytes: [UInt8]()) == .zero)
        #expect(UInt256(bigEndianBytes: [UInt8](repeating: 0, count: 33)) == nil)
        #expect(UInt256(bigEndianBytes: pattern[4...]) == h("05060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"))
    }

    // MARK: Codable

    @Test func jsonRoundTrip() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(Payload(amount: 1_000_000)), as: UTF8.self)
        #expect(json == #"{"amount":"1000000"}"#)

        for value in [UInt256.zero, 1, pow2(64), pow2(128), .max] {
            let data = try JSONEncoder().encode(Payload(amount: value))
            #expect(try JSONDecoder().decode(Payload.self, from: data) == Payload(amount: value))
        }
        #expect(try decodePayload(#"{"amount":"\#(maxDecimal)"}"#).amount == .max)
        #expect(try JSONDecoder().decode([UInt256].self, from: Data(#"["0","42"]"#.utf8)) == [0, 42])
    }

    @Test("JSON rejects non-canonical strings and numbers", arguments: [
        #"{"amount":1000000}"#,
        #"{"amount":1e6}"#,
        #"{"amount":true}"#,
        #"{"amount":"\#(twoTo256Decimal)"}"#,
        #"{"amount":""}"#,
        #"{"amount":"-1"}"#,
        #"{"amount":"+1"}"#,
        #"{"amount":"01"}"#,
        #"{"amount":" 1"}"#,
        #"{"amount":"1.0"}"#,
        #"{"amount":"1e3"}"#,
        #"{"amount":"0x10"}"#,
    ])
    func jsonRejection(json: String) throws {
        let error = #expect(throws: DecodingError.self) { try decodePayload(json) }
        guard case .dataCorrupted(let context)? = error else {
            Issue.record("expected DecodingError.dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(context.debugDescription.contains("UInt256"))
        #expect(context.codingPath.map(\.stringValue) == ["amount"])
    }

    @Test func jsonErrorMessagesAreSpecific() throws {
        func message(_ json: String) -> String {
            do {
                _ = try decodePayload(json)
                return "decoded"
            } catch let DecodingError.dataCorrupted(context) {
                return context.debugDescription
            } catch {
                return "other: \(error)"
            }
        }
        #expect(message(#"{"amount":1000000}"#).contains("not a number"))
        #expect(message(#"{"amount":"01"}"#).contains("leading zeros"))
        #expect(message(#"{"amount":"\#(twoTo256Decimal)"}"#).contains("exceeds 2^256-1"))
        #expect(message(#"{"amount":""}"#).contains("empty"))
        #expect(message(#"{"amount":"-1"}"#).contains("ASCII digits"))
    }

    // MARK: Properties

    @Test func randomizedProperties() throws {
        var rng = SplitMix64(state: 0x5E77_1E)
        for _ in 0..<2_000 {
            let a = randomUInt256(&rng)
            let b = randomUInt256(&rng)

            // Addition and subtraction are inverse modulo 2^256; overflow flags agree with ordering.
            let (sum, sumOverflow) = a.addingReportingOverflow(b)
            #expect(sum.subtractingReportingOverflow(b).partialValue == a)
            if !sumOverflow {
                #expect(sum.subtracting(b) == a)
                #expect(sum >= a && sum >= b)
            } else {
                #expect(sum < a && sum < b)
                #expect(a.adding(b) == nil)
            }
            #expect(a.subtractingReportingOverflow(b).overflow == (a < b))
            #expect(a.addingReportingOverflow(b) == b.addingReportingOverflow(a))

            // Multiplication: commutative, and exact products divide back by a 64-bit factor.
            #expect(a.multipliedReportingOverflow(by: b) == b.multipliedReportingOverflow(by: a))
            // Distributivity modulo 2^256 checks every partial product, not just the low limbs.
            let c = randomUInt256(&rng)
            let lhs = a.multipliedReportingOverflow(by: b.addingReportingOverflow(c).partialValue).partialValue
            let rhs = a.multipliedReportingOverflow(by: b).partialValue
                .addingReportingOverflow(a.multipliedReportingOverflow(by: c).partialValue).partialValue
            #expect(lhs == rhs)
            let small = rng.next() | 1
            if let product = a.multiplied(by: UInt256(small)) {
                #expect(product.quotientAndRemainder(dividingBy: small) == (a, 0))
            }
            let (q, r) = a.quotientAndRemainder(dividingBy: small)
            #expect(r < small)
            #expect(q.multiplied(by: UInt256(small))?.adding(UInt256(r)) == a)

            // Text and byte encodings round trip.
            #expect(UInt256(decimal: a.decimalString) == a)
            #expect(UInt256(hex: a.hexString) == a)
            #expect(UInt256(bigEndianBytes: a.bigEndianBytes) == a)
            #expect(a.bigEndianBytes.count == 32)
        }
    }

    @Test func crossCheckAgainstUInt64() {
        var rng = SplitMix64(state: 64)
        for _ in 0..<2_000 {
            let x = randomLimb(&rng)
            let y = randomLimb(&rng)
            let a = UInt256(x)
            let b = UInt256(y)

            let (s, so) = x.addingReportingOverflow(y)
            #expect(a.adding(b) == (so ? pow2(64).adding(UInt256(s)) : UInt256(s)))

            let (dv, dvo) = x.subtractingReportingOverflow(y)
            #expect(a.subtracting(b) == (dvo ? nil : UInt256(dv)))
            #expect(a.subtractingReportingOverflow(b).partialValue.uint64Value == (dvo ? nil : dv))

            let p = x.multipliedFullWidth(by: y)
            #expect(a.multiplied(by: b) == UInt256(exactly: UInt128(p.high) << 64 | UInt128(p.low)))

            if y != 0 {
                let (q, r) = x.quotientAndRemainder(dividingBy: y)
                #expect(a.quotientAndRemainder(dividingBy: y) == (UInt256(q), r))
            }
            #expect(a.decimalString == String(x))
            #expect(a.hexString == String(x, radix: 16))
            #expect((a < b) == (x < y))
            #expect(a.uint64Value == x)
        }
    }

    @Test func crossCheckAgainstUInt128() throws {
        var rng = SplitMix64(state: 128)
        for _ in 0..<2_000 {
            let a = randomUInt256(&rng, limbs: Int(rng.next() % 3))
            let b = randomUInt256(&rng, limbs: Int(rng.next() % 3))
            let x = try #require(toUInt128(a))
            let y = try #require(toUInt128(b))
            #expect(UInt256(exactly: x) == a)

            let (s, so) = x.addingReportingOverflow(y)
            let sum = try #require(a.adding(b))  // two 128-bit values never overflow 256 bits
            #expect(sum == (so ? pow2(128).adding(UInt256(exactly: s)!) : UInt256(exactly: s)))

            let (dv, dvo) = x.subtractingReportingOverflow(y)
            #expect(a.subtracting(b) == (dvo ? nil : UInt256(exactly: dv)))

            let p = x.multipliedFullWidth(by: y)
            let product = try #require(a.multiplied(by: b))
            let expected = UInt256(exactly: p.high)!.multiplied(by: pow2(128))!.adding(UInt256(exactly: p.low)!)
            #expect(product == expected)

            let divisor = rng.next() | 1
            let (q, r) = x.quotientAndRemainder(dividingBy: UInt128(divisor))
            let ours = a.quotientAndRemainder(dividingBy: divisor)
            #expect(toUInt128(ours.quotient) == q)
            #expect(UInt128(ours.remainder) == r)

            #expect(a.decimalString == String(x))
            #expect(a.hexString == String(x, radix: 16))
            #expect(UInt256(decimal: String(x)) == a)
            #expect((a < b) == (x < y))
            #expect((a == b) == (x == y))
        }
    }
}
