import Foundation
import Testing

@testable import Ledger

/// `NewTransfer(plainJSON:)` may only answer what `Decodable` answers: for every body it accepts,
/// `JSONDecoder` must give the same transfer; everything else it leaves to `JSONDecoder`.
@Suite("Plain JSON transfer reader")
struct FastJSONTests {
    static func decoded(_ body: String) -> NewTransfer? {
        try? JSONDecoder().decode(NewTransfer.self, from: Data(body.utf8))
    }

    static func plain(_ body: String) -> NewTransfer? {
        Array(body.utf8).withUnsafeBytes { NewTransfer(plainJSON: $0) }
    }

    static let accepted = [
        #"{"id":"pay-1","postings":[{"direction":"debit","account":"agent:1","amount":"5"},{"direction":"credit","account":"m","amount":"5"}]}"#,
        #" { "id" : "pay-2" , "type" : "post" , "postings" : [ { "amount" : "1" , "account" : "a" , "direction" : "debit" } , { "direction" : "credit" , "account" : "b" , "amount" : "1" } ] } "#,
        "{\"postings\":[{\"direction\":\"debit\",\"account\":\"a\",\"amount\":\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"},\n{\"direction\":\"credit\",\"account\":\"b\",\"amount\":\"7\"}],\t\"id\":\"x\"}",
        #"{"id":"h-1","type":"hold","timeout":60,"postings":[{"direction":"debit","account":"a","amount":"3"},{"direction":"credit","account":"b","amount":"3"}]}"#,
        #"{"id":"h-2","type":"hold","postings":[{"direction":"debit","account":"a","amount":"3"},{"direction":"credit","account":"b","amount":"3"}]}"#,
        #"{"id":"h-3","type":"hold","timeout":-4,"postings":[{"direction":"debit","account":"a","amount":"3"},{"direction":"credit","account":"b","amount":"3"}]}"#,
        #"{"id":"one","postings":[{"direction":"debit","account":"a","amount":"0"}]}"#,
    ]

    /// Bodies it must leave to `JSONDecoder`: valid ones outside the plain form and invalid ones.
    static let declined = [
        #"{"id":"p","postings":[{"direction":"debit","account":"a","amount":"5"}],"metadata":{"k":"v"}}"#,
        #"{"id":"p\u0031","postings":[{"direction":"debit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","id":"q","postings":[{"direction":"debit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","postings":[{"direction":"debit","direction":"credit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","postings":[{"direction":"debit","account":"a","amount":5}]}"#,
        #"{"id":"p","postings":[{"direction":"debit","account":"a","amount":"05"}]}"#,
        #"{"id":"p","postings":[{"direction":"debit","account":"a","amount":"-5"}]}"#,
        #"{"id":"p","postings":[{"direction":"debit","account":"a","amount":"5","memo":"x"}]}"#,
        #"{"id":"p","postings":[{"direction":"Debit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","postings":[{"direction":"debit","account":"a b","amount":"5"}]}"#,
        #"{"id":"","postings":[{"direction":"debit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","postings":[]}"#,
        #"{"id":"p"}"#,
        #"{"id":"p","type":"post","timeout":5,"postings":[{"direction":"debit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","type":"hold","timeout":5.0,"postings":[{"direction":"debit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","type":"hold","timeout":1e3,"postings":[{"direction":"debit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","type":"hold","timeout":05,"postings":[{"direction":"debit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","type":"hold","timeout":-0,"postings":[{"direction":"debit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","type":"hold","timeout":9223372036854775808,"postings":[{"direction":"debit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","type":"hold","timeout":null,"postings":[{"direction":"debit","account":"a","amount":"5"}]}"#,
        #"{"id":"p","type":"void_hold","hold":"h"}"#,
        #"{"id":"p","postings":[{"direction":"debit","account":"a","amount":"5"}]} x"#,
        #"{"id":"p","postings":[{"direction":"debit","account":"a","amount":"5"},]}"#,
        #"{"id":"p","postings":[{"direction":"debit","account":"a","amount":"5"}],}"#,
        #"{"id":"p","postings":[{"direction":"debit","account":"a","amount":"5"}]"#,
        #"{"id":"p","postings":[{"direction":"debit","account":"a","amount":"5"}"#,
        "{\"id\":\"p\u{1}\",\"postings\":[{\"direction\":\"debit\",\"account\":\"a\",\"amount\":\"5\"}]}",
        "\u{FEFF}{\"id\":\"p\",\"postings\":[{\"direction\":\"debit\",\"account\":\"a\",\"amount\":\"5\"}]}",
        #"[{"id":"p"}]"#,
        "",
        "{",
    ]

    @Test(arguments: accepted)
    func acceptsThePlainFormAsDecodableDoes(_ body: String) throws {
        let plain = try #require(Self.plain(body))
        #expect(plain == Self.decoded(body))
    }

    @Test(arguments: declined)
    func leavesEverythingElseToDecodable(_ body: String) {
        #expect(Self.plain(body) == nil)
    }

    /// Random mutations of plain bodies: whatever the reader accepts, `JSONDecoder` decodes to the
    /// same transfer.
    @Test func randomMutationsNeverDisagree() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]",:0123456789-. eE\"abcdeilnoprstuvxyz_/@+"#.utf8)
        var acceptedCount = 0
        for _ in 0..<20_000 {
            var bytes = Array(Self.accepted.randomElement(using: &rng)!.utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let k = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[k] = alphabet.randomElement(using: &rng)!
                case 1: bytes.remove(at: k)
                default: bytes.insert(alphabet.randomElement(using: &rng)!, at: k)
                }
                if bytes.isEmpty { break }
            }
            guard let plain = bytes.withUnsafeBytes({ NewTransfer(plainJSON: $0) }) else { continue }
            acceptedCount += 1
            let decoded = try? JSONDecoder().decode(NewTransfer.self, from: Data(bytes))
            #expect(plain == decoded, "\(String(decoding: bytes, as: UTF8.self))")
        }
        #expect(acceptedCount > 0)
    }
}

/// The request hash decides `exists` against `exists_with_different_fields` for transfers stored
/// by earlier versions: its bytes must never change. Expected values: SHA-256 of the canonical
/// JSON computed independently (Python's `json.dumps(sort_keys=True, separators=(",", ":"),
/// ensure_ascii=False)`).
@Suite("Request hash")
struct RequestHashTests {
    @Test func isStableAcrossVersions() throws {
        let simple = NewTransfer(id: "t1", .post([.debit("a", 5), .credit("b", 5)]))
        #expect(simple.requestHash == "08b9e28b376fee77acbdad1d1ffe047eb761352edcce9a70bb5213919ebb31b6")
        let full = NewTransfer(
            id: "t2", .hold([.debit("agent:7", 1_500), .credit("merchant:acme", 1_500)], timeout: 60),
            effectiveAt: Date(timeIntervalSince1970: 1_790_000_000.5),
            metadata: [
                "route": .string("/v1/search"), "note": .string("say \"hi\"\n\tü\u{1}"),
                "n": .object(["z": .number("1"), "a": .array([.bool(true), .null])]),
            ],
            railReference: .init(rail: "erc20", reference: "eip155:8453/0xab/3"))
        #expect(full.requestHash == "b365416e29cca291dfbf48a1f3ed445fd49ad1350ff976705010e190a5d9e36f")
    }
}
