import Foundation
import Testing

@testable import MPP

/// RFC 8785 output, checked against pympp's own canonicalizer (`rfc8785` 0.1.4).
struct JCSTests {
    static let numbers: [(Double, String)] = [
        (1e21, "1e+21"), (1e20, "100000000000000000000"), (0.1, "0.1"), (1e-7, "1e-7"), (1e-6, "0.000001"),
        (123.456, "123.456"), (-0.0, "0"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (100.0, "100"), (0.000001234, "0.000001234"), (1234567.125, "1234567.125"), (-2.5, "-2.5"),
    ]

    @Test func numbersPrintAsECMAScriptDoes() throws {
        let wrong = try Self.numbers.filter { try JCS.format($0.0) != $0.1 }
        #expect(wrong.isEmpty, "\(wrong)")
    }

    @Test func objectKeysSortByUTF16CodeUnits() throws {
        let value = JSONValue.object([
            "\u{20AC}": .integer(1), "\r": .integer(2), "a": .integer(3), "\u{1F600}": .integer(4), "\u{FB01}": .integer(5),
        ])
        let text = String(decoding: try JCS.canonicalize(value), as: UTF8.self)
        #expect(text == "{\"\\r\":2,\"a\":3,\"\u{20AC}\":1,\"\u{1F600}\":4,\"\u{FB01}\":5}")
    }

    @Test func stringsEscapeOnlyQuotesBackslashesAndControls() throws {
        let text = String(decoding: try JCS.canonicalize(.string("\u{01}\u{1F}\"\\ é😀\u{2028}\n\t")), as: UTF8.self)
        #expect(text == "\"\\u0001\\u001f\\\"\\\\ é😀\u{2028}\\n\\t\"")
    }

    @Test func nestedValues() throws {
        let value = JSONValue.object([
            "b": .array([.null, .bool(true), .bool(false), .integer(-7), .number(1.5)]), "a": .object(["z": .string("")]),
        ])
        #expect(String(decoding: try JCS.canonicalize(value), as: UTF8.self) == #"{"a":{"z":""},"b":[null,true,false,-7,1.5]}"#)
    }

    @Test(arguments: [JSONValue.number(.nan), .number(.infinity), .integer(JCS.maxSafeInteger + 1), .array([.integer(Int64.min)])])
    func refusesWhatItCannotPrintExactly(_ value: JSONValue) {
        let error = #expect(throws: MPPWireError.self) { try JCS.canonicalize(value) }
        #expect(error?.code == .notCanonicalizable)
    }

    @Test func safeIntegerBoundsPrint() throws {
        #expect(String(decoding: try JCS.canonicalize(.integer(JCS.maxSafeInteger)), as: UTF8.self) == "9007199254740991")
        #expect(String(decoding: try JCS.canonicalize(.integer(-JCS.maxSafeInteger)), as: UTF8.self) == "-9007199254740991")
    }

    @Test func decodeKeepsKinds() throws {
        let value = try JSONValue.decode(Data(#"{"a":true,"b":7,"c":1.5,"d":"x","e":null,"f":[]}"#.utf8))
        #expect(value == .object(["a": .bool(true), "b": .integer(7), "c": .number(1.5), "d": .string("x"), "e": .null, "f": .array([])]))
    }
}

struct Base64URLTests {
    @Test func roundTripsEveryLength() throws {
        let bad = try (0..<40).filter { length in
            let bytes = Data((0..<length).map { UInt8(($0 * 97 + 251) % 256) })
            let text = Base64URL.encode(bytes)
            let decoded = try Base64URL.decode(text)
            return text.contains("=") || text.contains("+") || text.contains("/") || decoded != bytes
        }
        #expect(bad.isEmpty, "\(bad)")
    }

    @Test func knownValue() throws {
        // RFC 4648 §10 test vector with the URL alphabet.
        #expect(Base64URL.encode(Data("foob".utf8)) == "Zm9vYg")
        #expect(Base64URL.encode(Data([0xFB, 0xFF])) == "-_8")
        #expect(try Base64URL.decode("-_8") == Data([0xFB, 0xFF]))
    }

    @Test(arguments: ["Zm9vYg==", "Zm9vYg=", "Zm9v+g", "Zm9v/g", "Zm9v Yg", "Zm9vY", "Zm9v\nYg", "é"])
    func refusesNonCanonicalSpellings(_ text: String) {
        #expect(throws: MPPWireError.self) { try Base64URL.decode(text) }
    }

    @Test func decodeJSONObjectRefusesOtherJSONAndOversize() throws {
        #expect(throws: MPPWireError.self) { try Base64URL.decodeJSONObject(Base64URL.encode(Data("[1]".utf8))) }
        #expect(throws: MPPWireError.self) { try Base64URL.decodeJSONObject(Base64URL.encode(Data("{".utf8))) }
        let big = Base64URL.encode(Data(("{\"a\":\"" + String(repeating: "x", count: 13_000) + "\"}").utf8))
        #expect(throws: MPPWireError.self) { try Base64URL.decodeJSONObject(big) }
        #expect(try Base64URL.decodeJSONObject(big, maxLength: 64 * 1024).count == 1)
    }
}
