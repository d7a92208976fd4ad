import Foundation
import Paywall
import Testing

@testable import MPP

@Suite struct JSONParserTests {
    @Test func parsesEveryKindAndKeepsIntegersExact() throws {
        let text = #" {"a": [true, false, null, 0, -7, 9007199254740993, 1.5, 2e3, -0.25E-2], "b": {"c": "d"}, "e": ""} "#
        let value = try JSONValue.decode(Data(text.utf8))
        #expect(
            value
                == .object([
                    "a": .array([
                        .bool(true), .bool(false), .null, .integer(0), .integer(-7), .integer(9_007_199_254_740_993), .number(1.5),
                        .number(2000), .number(-0.0025),
                    ]),
                    "b": .object(["c": .string("d")]), "e": .string(""),
                ]))
    }

    @Test func integersBeyondInt64BecomeNumbers() throws {
        #expect(try JSONValue.decode(Data("18446744073709551616".utf8)) == .number(18_446_744_073_709_551_616))
        #expect(try JSONValue.decode(Data("-9223372036854775808".utf8)) == .integer(.min))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let text = #""q\"b\\s\/\b\f\n\r\t\u00e9\ud83d\ude00 é""#
        #expect(try JSONValue.decode(Data(text.utf8)) == .string("q\"b\\s/\u{08}\u{0C}\n\r\té😀 é"))
    }

    @Test(arguments: [
        ("", "empty"), ("{", "unterminated object"), (#"{"a":1,}"#, "trailing comma"), (#"{"a":1 "b":2}"#, "missing comma"),
        (#"{"a":1,"a":2}"#, "duplicate member"), ("[1] 2", "trailing value"), ("01", "leading zero"), ("-", "bare minus"),
        ("1.", "no fraction digits"), ("1e", "no exponent digits"), (".5", "no integer part"), ("+1", "plus sign"),
        ("tru", "truncated literal"), ("nul", "truncated null"), ("True", "capitalised literal"), (#""a"#, "unterminated string"),
        ("\"a\u{01}\"", "raw control character"), (#""\ud800""#, "lone high surrogate"), (#""\udc00x""#, "lone low surrogate"),
        (#""\ud800\u0041""#, "high surrogate then a letter"), (#""\x""#, "unknown escape"), (#""\u12G4""#, "bad hex"),
        ("\u{FEFF}{}", "byte-order mark"), ("NaN", "NaN"), ("1e999", "infinite number"), ("{1:2}", "non-string name"),
    ])
    func refuses(_ text: String, _ what: String) {
        #expect(throws: MPPWireError.self, "\(what)") { try JSONValue.decode(Data(text.utf8)) }
    }

    @Test func refusesInvalidUTF8InAString() {
        #expect(throws: MPPWireError.self) { try JSONValue.decode([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func boundsTheNesting() throws {
        let deep = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        _ = try JSONValue.decode(Data(deep.utf8))
        let deeper = "[" + deep + "]"
        #expect(throws: MPPWireError.self) { try JSONValue.decode(Data(deeper.utf8)) }
    }

    @Test func agreesWithFoundationOnWhatBothAccept() throws {
        let samples = [
            #"{"challenge":{"id":"x","realm":"r"},"payload":{"n":[1,2.5,"s",null,true]},"source":"did:x"}"#,
            #"[{"a":{"b":{"c":[]}}},-1,0.5,"\u0000"]"#,
        ]
        for sample in samples {
            let ours = try JSONValue.decode(Data(sample.utf8))
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(sample.utf8))
            #expect(ours == foundation, "\(sample)")
        }
    }
}
